#!/bin/bash
# lab.bad_input — malformed input never changes the kernel and always says precisely what is
# wrong. The daemon runs (ct strategy, source = an nft file, generic-ct forced on both router
# ports, a profile_dir) with its rules installed; then:
#  1. nft: a source file with a syntax error: `translate` and `apply` exit 2 with
#     FILE:LINE:COL and the offending word; the daemon's own source file broken + SIGHUP: the
#     reload fails, status shows the same error, the running state stays.
#  2. config: SIGHUP with a bad value, then with an unknown section: each reload fails with
#     FILE:LINE in status (last_error, reload_failures).
#  3. profile: a broken profile in profile_dir: `translate --profile-dir` exits 2 with
#     FILE:LINE; SIGHUP fails the same way; once it is removed a SIGHUP succeeds and changes
#     nothing (the same filters, the same handles).
#  4. control requests, sent raw: bytes that are not printable ASCII, an overlong request, too
#     many words, an empty line, an unknown command, bad addresses (raw and through the CLI),
#     idle clients filling every slot: each gets {"ok": false} with its own message (the idle
#     ones are dropped after their timeout), and the daemon answers `status` afterwards.
# After every step `tc -j filter show` of every device of the router (ingress and egress, all
# chains), `tc -j qdisc show` and `nft -j list ruleset` are byte-identical to before it.
#  5. SIGTERM: every rule of ours removed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 60; lab_teardown' EXIT
lab_require_cmd jq tc nft od

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
COOKIE=6e746f01
SOCK=/tmp/nto-bi.sock
CONF=/tmp/nto-bi.conf
RULES=/tmp/nto-bi.nft
BAD=/tmp/nto-bi-bad.nft
PDIR=/tmp/nto-bi-profiles
LOG=/tmp/nto-bi.log
RAW=/tmp/nto-bi-raw.py
DPID=

lab_modprobe cls_flower act_ct act_gact act_pedit act_csum act_mirred
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV

cat >"$RULES" <<EOF
table inet lab {
    flowtable ft {
        hook ingress priority 0
        devices = { $CLI, $SRV }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        tcp dport 5202 drop
        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF
lab_nft_load "$RULES"
# the same ruleset with a typo on line 8, column 22 ("dorp")
sed 's/tcp dport 5202 drop/tcp dport 5202 dorp/' "$RULES" >"$BAD"
grep -n dorp "$BAD"
mkdir -p "$PDIR"

write_conf() {
    cat >"$CONF" <<EOF
[daemon]
source = $RULES
profile_dir = $PDIR
control_socket = $SOCK
log_level = debug

[device $CLI]
profile = generic-ct

[device $SRV]
profile = generic-ct
EOF
}
write_conf

# A raw control-socket client: each line of its input file is one request, hex-encoded; it
# sends each on its own connection and prints each answer on one line ("(no answer)" when the
# daemon closed without one). One python process for all (each process costs seconds in TCG).
cat >"$RAW" <<'EOF'
import socket, sys
for line in open(sys.argv[2]):
    data = bytes.fromhex(line.strip())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass
    buf = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:  # closed with part of an overlong request unread
            break
        if not d:
            break
        buf += d
    s.close()
    ans = buf.decode("utf-8", "replace").strip()
    print(ans if ans else "(no answer)", flush=True)
EOF
PY=/usr/bin/python3 # not a pyenv shim from the host's PATH

ctl_j() { lab_router "$BIN" "$1" -j --socket "$SOCK" "${@:2}"; }
ours() { lab_tc_cookie_filters "$R" "$COOKIE" "$CLI" "$SRV"; }
kernel() { # everything of the router's tc and nft state, as JSON text
    local d
    lab_router tc -j qdisc show
    for d in $(lab_router ip -j link show | jq -r '.[].ifname'); do
        echo "== $d ingress"
        lab_router tc -j filter show dev "$d" ingress
        echo "== $d egress"
        lab_router tc -j filter show dev "$d" egress
    done
    echo "== nft"
    lab_router nft -j list ruleset
}
same_kernel() { # same_kernel WHAT — the kernel state is what it was at the start
    local now
    now=$(kernel)
    if [[ $now != "$K0" ]]; then
        diff <(echo "$K0") <(echo "$now") >&2 || true
        lab_fail "$1: the kernel's tc/nft state changed (diff above)"
    fi
    kill -0 "$DPID" 2>/dev/null || lab_fail "$1: the daemon is gone"
    echo "$1: kernel unchanged ($(ours) rules of ours), daemon alive"
}
REQ_LABELS=()
REQ_RES=()
: >/tmp/nto-bi-requests
# req LABEL REGEX PRINTF-FORMAT [ARGS...] — one raw request (printf's output); its answer must
# be ok:false, error ~ REGEX
req() {
    REQ_LABELS+=("$1")
    REQ_RES+=("$2")
    # shellcheck disable=SC2059 # the format is the request
    printf "${@:3}" | od -An -v -tx1 | tr -d ' \n' >>/tmp/nto-bi-requests
    echo >>/tmp/nto-bi-requests
}
send_requests() { # sends every req, checks every answer
    local i=0 ans
    "$PY" "$RAW" "$SOCK" /tmp/nto-bi-requests >/tmp/nto-bi-answers ||
        lab_fail "4: the raw client failed"
    while IFS= read -r ans; do
        echo "4 ${REQ_LABELS[i]}: $ans"
        lab_assert_eq "$(jq -c .ok <<<"$ans")" false "4 ${REQ_LABELS[i]}: ok"
        lab_assert_match "$(jq -r .error <<<"$ans")" "${REQ_RES[i]}" "4 ${REQ_LABELS[i]}: error"
        i=$((i + 1))
    done </tmp/nto-bi-answers
    lab_assert_eq "$i" "${#REQ_LABELS[@]}" "4: answers"
}
# expect_fail LABEL STATUS REGEX CMD... — CMD exits STATUS, its stderr matches REGEX
expect_fail() {
    local label=$1 want=$2 re=$3 rc=0 out
    shift 3
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    echo "$label: exit $rc: $(head -n 1 <<<"$out")"
    lab_assert_eq "$rc" "$want" "$label: exit status"
    lab_assert_match "$out" "$re" "$label: message"
}
# reload_fails LABEL REGEX — SIGHUP; the reload must fail with last_error ~ REGEX
reload_fails() {
    local f0
    f0=$(ctl_j status | jq .reload_failures)
    kill -HUP "$DPID"
    lab_wait_for 30 sh -c "[ \$(ip netns exec $R $BIN status -j --socket $SOCK | jq .reload_failures) -gt $f0 ]" ||
        lab_fail "$1: the failed reload was not reported within 30 s"
    err=$(ctl_j status | jq -r .last_error)
    echo "$1: status last_error: $err"
    lab_assert_match "$err" "$2" "$1: last_error"
}

# ---- start
ip netns exec "$R" "$BIN" run --config "$CONF" >"$LOG" 2>&1 &
DPID=$!
lab_wait_for 90 ctl_j status || lab_fail "the daemon did not answer on $SOCK"
n0=$(ours)
st=$(ctl_j status)
echo "started: $n0 rules of ours (chain 0 $(jq .ct.rules_chain0 <<<"$st"), chain 1 $(jq .ct.rules_chain1 <<<"$st"))"
lab_assert_gt "$n0" 0 "rules of ours at start"
K0=$(kernel)

# ---- 1. nft
expect_fail "1a translate" 2 "^$BAD:8:24: error: unknown statement or expression 'dorp'" \
    "$BIN" translate --profile generic-ct "$BAD"
expect_fail "1b apply" 2 "^$BAD:8:24: error: unknown statement or expression 'dorp'" \
    lab_router "$BIN" apply --profile generic-ct "$BAD"
expect_fail "1c apply (no such file)" 2 "/tmp/nto-bi-missing.nft" \
    lab_router "$BIN" apply --profile generic-ct /tmp/nto-bi-missing.nft
cp "$RULES" "$RULES.good"
cp "$BAD" "$RULES"
reload_fails "1d SIGHUP, broken source" "^reload: $RULES:8:24: error: unknown statement or expression 'dorp'"
cp "$RULES.good" "$RULES"
same_kernel 1

# ---- 2. config
cp "$CONF" "$CONF.good"
sed -i 's/^log_level = debug$/log_level = chatty/' "$CONF"
reload_fails "2a SIGHUP, bad value" "^reload: $CONF:5: error: log_level"
cp "$CONF.good" "$CONF"
printf '\n[tuning]\nturbo = yes\n' >>"$CONF"
reload_fails "2b SIGHUP, unknown section" "^reload: $CONF:13: "
cp "$CONF.good" "$CONF"
same_kernel 2

# ---- 3. profile
printf '[profile]\nname = broken\nstrategy = ct\ncapacity = lots\n' >"$PDIR/broken.conf"
expect_fail "3a translate --profile-dir" 2 "$PDIR/broken.conf:4: error: unknown key 'capacity'" \
    "$BIN" translate --profile generic-ct --profile-dir "$PDIR" "$RULES"
reload_fails "3b SIGHUP, broken profile" "$PDIR/broken.conf:4: error: unknown key 'capacity'"
rm "$PDIR/broken.conf"
r0=$(ctl_j status | jq .reloads)
kill -HUP "$DPID"
lab_wait_for 30 sh -c "[ \$(ip netns exec $R $BIN status -j --socket $SOCK | jq .reloads) -gt $r0 ]" ||
    lab_fail "3c: the good reload did not happen within 30 s"
st=$(ctl_j status)
echo "3c: good reload: last_error $(jq -c .last_error <<<"$st"), last sync $(jq -c .ct.last_sync <<<"$st")"
lab_assert_eq "$(jq -r .last_error <<<"$st")" null "3c: last_error after a good reload"
same_kernel 3

# ---- 4. control requests
req "NUL and high bytes" "^byte 0x00 at offset 0 of the request: printable ASCII only$" \
    '\x00\xff\xfe junk\n'
req "UTF-8" "^byte 0xc3 at offset 7 of the request: printable ASCII only$" \
    'status \xc3\xa9\n'
req "escape sequence" "^byte 0x1b at offset 6 of the request" \
    'status\x1b[2J\n'
req "overlong (2008 bytes)" "^request longer than 1023 bytes$" \
    'status %02000d\n' 0
req "21 words" "^more than 16 words in the request$" \
    'explain%s\n' "$(printf ' w%d' $(seq 1 20))"
req "empty line" "^empty request$" \
    '\n'
req "blank line" "^empty request$" \
    ' \t \r\n'
req "unknown command" '^unknown request "frobnicate"' \
    'frobnicate now\n'
req "status with an argument" '^unknown request "status"' \
    'status please\n'
req "explain without arguments" "^expected (SADDR DADDR|PROTO SADDR)" \
    'explain\n'
# the explain tuple's order is being changed (SADDR DADDR [PROTO [SPORT DPORT]], formerly
# PROTO SADDR SPORT DADDR DPORT): the bad values go where this build's parser expects them
if "$BIN" explain --help | grep -q 'SADDR DADDR \[PROTO'; then
    tuple() { echo "$2 $4 $1 $3 $5"; } # tuple PROTO SADDR SPORT DADDR DPORT
else
    tuple() { echo "$1 $2 $3 $4 $5"; }
fi
req "bad IPv4 address" '^"10\.0\.0\.256" and "10\.0\.2\.2": two addresses of one family$' \
    'explain %s\n' "$(tuple tcp 10.0.0.256 1 10.0.2.2 2)"
req "bad IPv6 address" '^"fd00:::1" and "fd00:2::2": two addresses of one family$' \
    'explain %s\n' "$(tuple tcp fd00:::1 1 fd00:2::2 2)"
req "two families" '^"10\.0\.1\.2" and "fd00:2::2": two addresses of one family$' \
    'explain %s\n' "$(tuple tcp 10.0.1.2 1 fd00:2::2 2)"
req "port 65536" '^port "65536": 0 to 65535$' \
    'explain %s\n' "$(tuple tcp 10.0.1.2 1 10.0.2.2 65536)"
req "port -1" '^port "-1": 0 to 65535$' \
    'explain %s\n' "$(tuple tcp 10.0.1.2 -1 10.0.2.2 2)"
req "protocol icmp" '^protocol "icmp": tcp or udp$' \
    'explain %s\n' "$(tuple icmp 10.0.1.2 1 10.0.2.2 2)"
send_requests
# shellcheck disable=SC2046 # the tuple's words
expect_fail "4 CLI explain, bad address" 1 \
    '^explain: the daemon says: "10\.0\.0\.256" and "10\.0\.2\.2": two addresses of one family$' \
    lab_router "$BIN" explain --socket "$SOCK" $(tuple tcp 10.0.0.256 1 10.0.2.2 2)
# every client slot (16) taken by idle connections: a 17th client is turned away at once (no
# answer), and once the idle ones have timed out (2 s) the daemon answers again
"$PY" - "$SOCK" >/tmp/nto-bi-idle <<'EOF'
import json, socket, sys, time

def ask(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    buf = b""
    try:
        s.sendall(b"status\n")
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except (BrokenPipeError, ConnectionResetError):  # turned away with the request unread
        pass
    s.close()
    return buf.decode().strip() or "(no answer)"

idle = []
for i in range(16):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    idle.append(s)
print(ask(sys.argv[1]), flush=True)
time.sleep(3)
ans = ask(sys.argv[1])
for i in range(20):  # the loop may be late with the timeouts on a loaded VM
    if ans != "(no answer)":
        break
    time.sleep(0.5)
    ans = ask(sys.argv[1])
print("ok" if ans.startswith("{") and json.loads(ans).get("ok") is True else ans, flush=True)
EOF
echo "4 a 17th client while 16 idle ones hold every slot, then one after their timeout:"
sed 's/^/    /' /tmp/nto-bi-idle
lab_assert_eq "$(sed -n 1p /tmp/nto-bi-idle)" "(no answer)" "4: a 17th client while every slot is idle"
lab_assert_eq "$(sed -n 2p /tmp/nto-bi-idle)" ok "4: a client after the idle ones' timeout"
lab_assert_eq "$(ctl_j status | jq .pid)" "$DPID" "4: status after the malformed requests"
same_kernel 4

# ---- 5. SIGTERM
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
DPID=
lab_assert_eq "$rc" 0 "5: exit status after SIGTERM"
lab_assert_eq "$(ours)" 0 "5: rules of ours after SIGTERM"
echo PASS
