#!/bin/bash
# lab.ctfwd_traffic — the ct strategy's chain 1 built by our code carries real traffic.
#
# Chain 0 on both router ports is hand-written (DESIGN.md section 2: ip_proto tcp|udp
# ct_state -trk → act_ct (zone 0, the stack's zone) → goto chain 1). Chain 1 comes from
# ctfwd_labdriver: netstate snapshot → ctfwd_build → diff against the dumped chain-1 rules
# carrying our cookie → nl_tc_{delete,replace}_batch. The router's nft forward chain counts
# every packet it sees (and uses conntrack, like any stateful ruleset).
#
#  A. chain 1 empty: a transfer still works; every packet goes to the stack (a packet that
#     matches no chain-1 rule continues: TC_ACT_UNSPEC), the forward chain counts them all.
#  B. chain 1 installed: a TCP transfer client → server: >= 95% of the packets the router
#     received are redirected by chain-1 mirred actions; the forward chain sees a handful
#     (the SYNs). Re-applying the same state changes nothing (the dump decodes to the rules
#     we built).
#  C. the server's MAC changes (and the router's neighbour entries with it): the diff
#     changes exactly the rules towards the server (v4 and v6, tcp and udp) in place, and a
#     second transfer is redirected again.
#  D. the same over IPv6.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap lab_teardown EXIT

DRIVER=${NTO_CTFWD_LABDRIVER:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/unit/ctfwd/ctfwd_labdriver}
[[ -x $DRIVER ]] || lab_fail "ctfwd_labdriver not built: $DRIVER (set NTO_BUILD_DIR)"

lab_modprobe cls_flower act_ct act_gact act_pedit act_csum act_mirred
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV

lab_nft_load <<'EOF'
table inet lab {
    counter seen { }
    chain forward {
        type filter hook forward priority 0; policy accept;
        counter name "seen"
        ct state invalid drop
    }
}
EOF

pref=1
for dev in "$CLI" "$SRV"; do
    lab_assert lab_router tc qdisc add dev "$dev" clsact
    for proto in ip ipv6; do
        for l4 in tcp udp; do
            lab_assert lab_router tc filter add dev "$dev" ingress chain 0 pref "$pref" \
                protocol "$proto" flower ip_proto "$l4" ct_state -trk \
                action ct pipe action goto chain 1
            pref=$((pref + 1))
        done
    done
done

fwd() { lab_nft_counter_packets inet lab seen; }
rx() { echo $(($(lab_dev_rx_packets "$R" "$CLI") + $(lab_dev_rx_packets "$R" "$SRV"))); }
redirected() {
    echo $(($(lab_tc_action_packets "$R" "$CLI" ingress 1 mirred) +
        $(lab_tc_action_packets "$R" "$SRV" ingress 1 mirred)))
}

# measure LABEL TRANSFER-ARGS... — runs one transfer, prints and exports the deltas
measure() {
    local label=$1 f0 r0 m0 bytes
    shift
    f0=$(fwd)
    r0=$(rx)
    m0=$(redirected)
    bytes=$(lab_tcp_transfer "$@") || lab_fail "$label: TCP transfer failed"
    D_FWD=$(($(fwd) - f0))
    D_RX=$(($(rx) - r0))
    D_RED=$(($(redirected) - m0))
    D_BYTES=$bytes
    echo "$label: $bytes bytes; router rx $D_RX packets, redirected by chain 1 $D_RED," \
        "nft forward chain $D_FWD"
}

# ---- A: chain 1 empty
measure "A (no chain 1)" -4 -b 20M -t 1
lab_assert_gt "$D_BYTES" 100000 "A: bytes received"
lab_assert_eq "$D_RED" 0 "A: redirected packets"
lab_assert_ge "$D_FWD" $((D_RX - 20)) "A: packets through the nft forward chain (router rx $D_RX)"

# ---- B: chain 1 from our builder
out=$(lab_router "$DRIVER" apply "$CLI" "$SRV") || lab_fail "apply failed: $out"
echo "$out"
lab_assert_match "$out" "^apply: keep 0 change 0 add 12 delete 0 failed 0$" "first apply"
lab_router tc filter show dev "$CLI" ingress chain 1
out=$(lab_router "$DRIVER" apply "$CLI" "$SRV") || lab_fail "re-apply failed: $out"
lab_assert_match "$out" "^apply: keep 12 change 0 add 0 delete 0 failed 0$" "re-apply of the same state"

measure "B (chain 1)" -4 -b 20M -t 2
lab_assert_gt "$D_BYTES" 1000000 "B: bytes received"
lab_assert_ge $((D_RED * 100)) $((D_RX * 95)) "B: 100 x redirected packets vs 95 x router rx ($D_RED of $D_RX)"
lab_assert_ge 10 "$D_FWD" "B: packets through the nft forward chain must stay a handful, got $D_FWD"
v4_fwd_cli=$(lab_tc_filter_packets "$R" "$CLI" ingress 1 4098)
echo "B: rt-cli chain 1 pref 4098 (IPv4 /32 rules) counted $v4_fwd_cli packets"
lab_assert_gt "$v4_fwd_cli" 1000 "B: packets on the rt-cli -> server rules"

# ---- C: the server's MAC changes
oldmac=$(lab_server cat "/sys/class/net/$LAB_SERVER_DEV/address")
newmac=02:00:00:00:bb:02
lab_assert lab_server ip link set dev "$LAB_SERVER_DEV" address "$newmac"
lab_assert lab_router ip neigh replace "$LAB_SERVER_IP4" lladdr "$newmac" dev "$SRV" nud reachable
lab_assert lab_router ip neigh replace "$LAB_SERVER_IP6" lladdr "$newmac" dev "$SRV" nud reachable
echo "C: server MAC $oldmac -> $newmac"
out=$(lab_router "$DRIVER" apply "$CLI" "$SRV") || lab_fail "apply after the MAC change failed: $out"
echo "$out"
lab_assert_match "$out" "^apply: keep 8 change 4 add 0 delete 0 failed 0$" "apply after the MAC change"
lab_assert_match "$(grep '^change: ' <<<"$out")" "munge eth dst set $newmac" "changed rules carry the new MAC"
[[ $(grep -c "^change: filter replace dev $CLI " <<<"$out") == 4 ]] ||
    lab_fail "C: the 4 changed rules must be rt-cli's rules towards the server"

measure "C (after the MAC change)" -4 -b 20M -t 2
lab_assert_gt "$D_BYTES" 1000000 "C: bytes received"
lab_assert_ge $((D_RED * 100)) $((D_RX * 95)) "C: 100 x redirected packets vs 95 x router rx ($D_RED of $D_RX)"
lab_assert_ge 10 "$D_FWD" "C: packets through the nft forward chain must stay a handful, got $D_FWD"

# ---- D: IPv6
measure "D (IPv6)" -6 -b 20M -t 2
lab_assert_gt "$D_BYTES" 1000000 "D: bytes received"
lab_assert_ge $((D_RED * 100)) $((D_RX * 95)) "D: 100 x redirected packets vs 95 x router rx ($D_RED of $D_RX)"
lab_assert_ge 10 "$D_FWD" "D: packets through the nft forward chain must stay a handful, got $D_FWD"
echo "PASS"
