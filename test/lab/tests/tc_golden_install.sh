#!/bin/bash
# lab.tc_golden_install — our netlink core and iproute2 install the same filters.
#
# For every golden shape (test/golden/*.hex: the bytes iproute2's tc sent for it), labtool
# installs the shape through our encoder and netlink core on device pair a0/a1, and prints it
# with our printer; `tc -batch` installs that text on b0/b1. Both devices' `tc -j filter show`
# (ingress and egress, all chains) must then be identical once device names, handles the
# kernel chose and action indexes (global per netns, so they differ by construction) are
# taken out. A shape the kernel refuses must be refused by both paths.
#
# Then: two rules the kernel refuses come back with their own extack messages; 10,000
# per-connection rules installed in one pipelined batch are all there afterwards.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
lab_require_cmd tc jq
: "${NTO_LABTOOL:?NTO_LABTOOL must name the labtool binary}"
GOLDEN=$(cd "$(dirname "$0")/../../golden" && pwd)

NS=lab-golden
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
lab_modprobe cls_flower act_ct act_gact act_mirred act_pedit act_csum act_vlan sch_ingress
ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link add a0 type veth peer name a1
in_ns ip link add b0 type veth peer name b1
for d in a0 a1 b0 b1; do in_ns ip link set "$d" up; done

reset_devs() {
    for d in a0 a1 b0 b1; do
        in_ns tc qdisc del dev "$d" clsact 2>/dev/null || true
        in_ns tc qdisc add dev "$d" clsact
    done
}

# All flower filters of a pair, canonical: names of the pair replaced by DEV/PEER, kernel
# chosen action indexes and refcounts removed, sorted.
show_pair() { # show_pair DEV PEER
    local dev=$1 peer=$2 d hook
    for d in "$dev" "$peer"; do
        for hook in ingress egress; do
            printf '{"on":"%s","hook":"%s","f":%s}\n' "$d" "$hook" \
                "$(in_ns tc -j filter show dev "$d" "$hook")"
        done
    done | sed -e "s/\"$dev\"/\"DEV\"/g; s/\"$peer\"/\"PEER\"/g" |
        jq -c '.on as $d | .hook as $h | .f[] | select(.options != null) | {on: $d, hook: $h} + .
               | walk(if type == "object" then del(.index, .ref, .bind, .installed, .last_used,
                                                   .expires, .first_used) else . end)' |
        sort
}

shapes=0 refused_both=0
for vec in "$GOLDEN"/*.hex; do
    name=$(basename "$vec" .hex)
    cmd=$(head -n 1 "$vec")
    case "$cmd" in
    "cmd filter add dev "*) ;;
    *) continue ;; # replace/del/get and the shared-block shape: not a standalone add on a device
    esac
    reset_devs
    ours_rc=0 tc_rc=0
    ours_err=$(in_ns "$NTO_LABTOOL" golden-install "$vec" a0 a1 2>&1 >/dev/null) || ours_rc=$?
    line=$(in_ns "$NTO_LABTOOL" golden-print "$vec" b0 b1)
    tc_err=$(in_ns tc -batch - <<<"$line" 2>&1) || tc_rc=$?
    if [[ $ours_rc -ne 0 || $tc_rc -ne 0 ]]; then
        [[ $ours_rc -ne 0 && $tc_rc -ne 0 ]] ||
            lab_fail "$name: only one path failed: ours rc=$ours_rc ($ours_err), tc rc=$tc_rc ($tc_err)"
        echo "$name: refused by both: ours: $ours_err | tc: $tc_err"
        refused_both=$((refused_both + 1))
        continue
    fi
    a=$(show_pair a0 a1)
    b=$(show_pair b0 b1)
    [[ -n $a ]] || lab_fail "$name: nothing installed"
    if [[ "$a" != "$b" ]]; then
        printf "%s\n" "--- ours:" "$a" "--- tc -batch:" "$b" >&2
        lab_fail "$name: our install differs from tc -batch of our printed text ($line)"
    fi
    echo "$name: identical ($(wc -l <<<"$a") filters)"
    shapes=$((shapes + 1))
done
echo "shapes installed identically: $shapes, refused by both paths: $refused_both"
lab_assert_ge "$shapes" 20 "shapes installed identically by both paths"

# Refusals: each rule of one batch gets its own errno and extack.
reset_devs
out=$(in_ns "$NTO_LABTOOL" refuse a0) || lab_fail "refuse: the kernel accepted a bad rule: $out"
echo "$out"
# 6.1's act_mirred refuses an unknown device with ENODEV and no message: the errno is what
# comes back. The prio clash comes with cls_api's message, which must reach us verbatim.
lab_assert_match "$(grep '^rule 0:' <<<"$out")" '^rule 0: error -19 ' "rule 0 (mirred to no device) errno"
lab_assert_match "$(grep '^rule 1:' <<<"$out")" 'error -22 .*extack "Filter with specified priority/protocol not found"' "rule 1 (prio clash) extack"

# 10,000 rules in one pipelined batch: all present afterwards, by tc's count and ours.
reset_devs
out=$(in_ns "$NTO_LABTOOL" bulk a0 a1 10000) || lab_fail "bulk install: $out"
echo "$out"
n_tc=$(in_ns tc -j filter show dev a0 ingress | jq '[.[] | select(.options != null)] | length')
n_ours=$(in_ns "$NTO_LABTOOL" count a0)
lab_assert_eq "$n_tc" 10000 "filters on a0 per tc"
lab_assert_eq "$n_ours" 10000 "filters on a0 per our dump"
sendmsgs=$(sed -n 's/.* \([0-9]*\) sendmsg.*/\1/p' <<<"$out")
lab_assert_ge 2000 "$sendmsgs" "sendmsg calls for 10,000 rules (pipelined: many per call)"
echo "PASS"
