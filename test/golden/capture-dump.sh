#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Captures what a real kernel's dump sends back for one of our filters, full and terse
# (TCA_DUMP_FLAGS_TERSE), as kernel/dump_full.hex and kernel/dump_terse.hex: first line
# "cmd <the tc line that installed the filter>", then the filter's RTM_NEWTFILTER message as
# hex, 16 bytes a line.
# test/unit/tc/test_tc_decode.c decodes both.
#
# Needs a kernel with cls_flower, act_pedit, act_csum, act_mirred and sch_ingress: run it in the
# lab VM (this host's kernel has none of them):
#   test/lab/run --rw "$PWD/test/golden" test/golden/capture-dump.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ns=nto-golden-dump-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
for m in cls_flower act_pedit act_csum act_mirred sch_ingress; do modprobe "$m"; done

# the same devices as capture.sh: eth0 = ifindex 2, eth1 = ifindex 3
ip netns add "$ns"
ip -n "$ns" link add eth1 type veth peer name eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" link set eth1 up
ip netns exec "$ns" tc qdisc add dev eth0 clsact
line=$(awk -F '\t' '$1 == "flow_orig_snat" { print $2 }' "$here/shapes.txt")
[[ -n $line ]] || { echo "capture-dump.sh: no flow_orig_snat in shapes.txt" >&2; exit 1; }
# shellcheck disable=SC2086 # split into words as tc -batch does
ip netns exec "$ns" tc $line

dump() { # FLAGS OUT: the first filter message (handle != 0) of eth0's ingress dump
    ip netns exec "$ns" python3 - "$1" "$2" "$line" <<'EOF'
import socket, struct, sys
flags, out, line = int(sys.argv[1]), sys.argv[2], sys.argv[3]
RTM_GETTFILTER, NLM_F_REQUEST, NLM_F_DUMP, TCA_DUMP_FLAGS = 46, 1, 0x300, 15
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 0))
idx = socket.if_nametoindex("eth0")
tcm = struct.pack("=BxxxiIII", 0, idx, 0, 0xFFFFFFF2, 0)  # parent ffff:fff2 = clsact ingress
attrs = struct.pack("=HHII", 12, TCA_DUMP_FLAGS, flags, flags) if flags else b""
body = tcm + attrs
s.send(struct.pack("=IHHII", 16 + len(body), RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
found = None
while True:
    data = s.recv(65536)
    off, done = 0, False
    while off + 16 <= len(data):
        ln, typ = struct.unpack_from("=IH", data, off)
        if typ in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
            done = True
            break
        handle = struct.unpack_from("=I", data, off + 16 + 8)[0]
        if found is None and handle:
            found = data[off:off + ln]
        off += (ln + 3) & ~3
    if done:
        break
if found is None:
    sys.exit("capture-dump.sh: no filter in the dump")
with open(out, "w") as f:
    f.write("cmd " + line + "\n")
    for i in range(0, len(found), 16):
        f.write(found[i:i + 16].hex() + "\n")
print("captured %s (%d bytes)" % (out, len(found)), file=sys.stderr)
EOF
}
mkdir -p "$here/kernel"
dump 0 "$here/kernel/dump_full.hex"
dump 1 "$here/kernel/dump_terse.hex"
