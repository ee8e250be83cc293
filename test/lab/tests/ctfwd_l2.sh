#!/bin/bash
# lab.ctfwd_l2 — the ct strategy's chain 1 beyond plain routed veths: a VLAN sub-interface as a
# flowtable device (routed), and L2 forwarding from the bridge FDB, driven by the daemon
# (`nft-tc-offload run`, source = kernel, generic-ct forced on every port).
#
#  A. VLAN: rt-srv.100 (VLAN 100 on the router's server-side veth) and srv0.100 in the server
#     namespace, 10.0.4.0/24 between them; the flowtable is { rt-cli, rt-srv.100 }. Chain 0
#     and chain 1 sit on the VLAN device's own clsact; rt-cli's rules towards 10.0.4.2 redirect
#     to rt-srv.100 (the VLAN device adds the tag). A TCP transfer client → 10.0.4.2: >= 95% of
#     the packets the router received (rt-cli + rt-srv.100) are redirected by chain 1.
#  B. L2: rt-cli, rt-srv and a third port rt-alt (veth to alt0 in the server namespace, down)
#     are ports of bridge br0 in the router namespace; client 10.0.1.2 and server 10.0.1.3 share
#     one subnet. Conntrack sees bridged traffic through a bridge-family table (ct state,
#     nf_conntrack_bridge); the inet table holds the flowtable { rt-cli, rt-srv, rt-alt } and
#     its `flow add` rule (docs/hardware.md, "L2 bridging"). Chain 1 gets dst_mac rules from
#     br0's FDB: rt-cli → server MAC → rt-srv, rt-srv → client MAC → rt-cli. A bridged TCP
#     transfer: >= 95% of the packets the bridge ports received are redirected by chain 1,
#     and the bridge-family forward chain sees a handful.
#  C. the server moves to rt-alt (srv0 down, alt0 takes its MAC and address, one ping): the
#     FDB entry moves and rt-cli's rule for the server MAC now redirects to rt-alt; a second
#     transfer is carried by the rules again (>= 95%).
#  D. the server's FDB entry ages out (learning off on rt-alt, ageing_time 2 s): rt-cli's rules
#     for the server MAC go.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "$LOG" 60; lab_teardown' EXIT
lab_require_cmd iperf3 jq tc nft bridge

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
SOCK=/tmp/nto-l2.sock
CONF=/tmp/nto-l2.conf
LOG=/tmp/nto-l2.log
DPID=
T0=$(date +%s)

lab_modprobe cls_flower act_ct act_gact act_mirred act_pedit act_csum nf_flow_table \
    nf_flow_table_inet nft_flow_offload 8021q bridge nf_conntrack_bridge
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV

ctl_j() { lab_router "$BIN" "$1" -j --socket "$SOCK" "${@:2}"; }
gso_off() { lab_ns "$1" ethtool -K "$2" tso off gso off gro off >/dev/null || lab_fail "ethtool -K $2"; }
rx() { # rx DEV... — router rx packets summed
    local n=0 d
    for d in "$@"; do n=$((n + $(lab_dev_rx_packets "$R" "$d"))); done
    echo "$n"
}
redirected() { # redirected DEV... — chain-1 mirred packets summed
    local n=0 d
    for d in "$@"; do n=$((n + $(lab_tc_action_packets "$R" "$d" ingress 1 mirred))); done
    echo "$n"
}
# targets DEV MAC — the devices DEV's chain-1 rules for dst_mac MAC redirect to (sorted, unique)
targets() {
    lab_router tc -j filter show dev "$1" ingress chain 1 | jq -r --arg m "$2" '.[]
        | select(.options.keys.dst_mac? == $m) | .options.actions[]? | select(.kind == "mirred")
        | .to_dev' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
has_target() { [[ $(targets "$1" "$2") == "$3" ]]; } # has_target DEV MAC TARGETS
has_chain1() { (($(ctl_j status | jq '.ct.rules_chain1') > 0)); }
# daemon_start DEV... — the daemon with generic-ct on each DEV; waits for chain 1
daemon_start() {
    local d
    {
        printf '[daemon]\nsource = kernel\ncontrol_socket = %s\nlog_level = debug\ndebounce_ms = 200\n' "$SOCK"
        for d in "$@"; do printf '\n[device %s]\nprofile = generic-ct\n' "$d"; done
    } >"$CONF"
    ip netns exec "$R" "$BIN" run --config "$CONF" >>"$LOG" 2>&1 &
    DPID=$!
    lab_wait_for 90 ctl_j status >/dev/null || lab_fail "the daemon did not answer on $SOCK"
    lab_wait_for 20 has_chain1 ||
        lab_fail "no chain-1 rules: $(ctl_j status | jq -c '.ct')"
}
daemon_stop() {
    kill -TERM "$DPID"
    wait "$DPID" || lab_fail "daemon exit status $?"
    DPID=
}
# measure LABEL "RX-DEVS" "RED-DEVS" TRANSFER-ARGS... — one transfer; asserts >= 95% redirected
measure() {
    local label=$1 rxd=$2 redd=$3 r0 m0 b
    shift 3
    r0=$(rx $rxd)
    m0=$(redirected $redd)
    b=$(lab_tcp_transfer "$@") || lab_fail "$label: transfer failed"
    D_RX=$(($(rx $rxd) - r0))
    D_RED=$(($(redirected $redd) - m0))
    echo "$label: $b bytes; router rx $D_RX packets, redirected by chain 1 $D_RED" \
        "($((D_RED * 1000 / (D_RX ? D_RX : 1)))‰)"
    lab_assert_gt "$b" 2000000 "$label: bytes received"
    lab_assert_ge $((D_RED * 100)) $((D_RX * 95)) "$label: 100 x redirected vs 95 x router rx"
}

# ---- A. VLAN sub-interfaces, routed
VR=$SRV.100
VS=$LAB_SERVER_DEV.100
lab_assert ip -n "$R" link add link "$SRV" name "$VR" type vlan id 100
lab_assert ip -n "$LAB_NS_SERVER" link add link "$LAB_SERVER_DEV" name "$VS" type vlan id 100
lab_assert ip -n "$R" addr add 10.0.4.1/24 dev "$VR"
lab_assert ip -n "$LAB_NS_SERVER" addr add 10.0.4.2/24 dev "$VS"
gso_off "$R" "$VR"
gso_off "$LAB_NS_SERVER" "$VS"
lab_assert ip -n "$R" link set "$VR" up
lab_assert ip -n "$LAB_NS_SERVER" link set "$VS" up
# replies to the client leave through the VLAN too (more specific than the default route)
lab_assert ip -n "$LAB_NS_SERVER" route add "$LAB_CLIENT_NET4" via 10.0.4.1 dev "$VS"
lab_wait_for 10 lab_ping "$LAB_NS_CLIENT" 10.0.4.2 || lab_fail "A: client cannot reach 10.0.4.2"
lab_nft_load <<EOF
table inet lab {
    flowtable ft {
        hook ingress priority 0
        devices = { $CLI, $VR }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF
# one daemon for every part: it follows the ruleset and the devices live
daemon_start "$CLI" "$VR" "$SRV" rt-alt
echo "A: chain 1 on $VR:"
lab_router tc filter show dev "$VR" ingress chain 1 | grep -E 'dst_ip|mirred' | sed -n 1,4p
lab_assert_match "$(lab_router tc filter show dev "$VR" ingress chain 0)" "action order 1: ct" "A: chain 0 on $VR"
lab_assert_match "$(lab_router tc -j filter show dev "$CLI" ingress chain 1 | jq -r '.[] | .options.actions[]? | select(.kind == "mirred") | .to_dev' | sort -u)" \
    "^$VR$" "A: $CLI's chain-1 rules redirect to the VLAN device only"
lab_tcp_server_start
LAB_SERVER_IP4=10.0.4.2 measure "A TCP/IPv4 via VLAN 100" "$CLI $VR" "$CLI $VR" -4 -n 4M -b 20M -T 120
# the tag was on the wire: the server's VLAN device received the transfer
lab_assert_gt "$(lab_dev_rx_packets "$LAB_NS_SERVER" "$VS")" 2000 "A: packets received on $VS"
lab_router nft flush ruleset
echo "A: done after $(($(date +%s) - T0)) s"

# ---- B. a bridge: rt-cli, rt-srv, rt-alt
lab_assert ip -n "$R" link del "$VR"
lab_assert ip -n "$LAB_NS_SERVER" link del "$VS"
lab_assert ip -n "$R" addr flush dev "$CLI"
lab_assert ip -n "$R" addr flush dev "$SRV"
lab_assert ip -n "$LAB_NS_SERVER" addr flush dev "$LAB_SERVER_DEV"
lab_assert ip -n "$LAB_NS_SERVER" addr add 10.0.1.3/24 dev "$LAB_SERVER_DEV"
lab_assert ip link add alt0 netns "$LAB_NS_SERVER" type veth peer name rt-alt netns "$R"
gso_off "$R" rt-alt
gso_off "$LAB_NS_SERVER" alt0
lab_assert ip -n "$R" link add br0 type bridge
for d in "$CLI" "$SRV" rt-alt; do lab_assert ip -n "$R" link set "$d" master br0; done
lab_assert ip -n "$R" link set rt-alt up
lab_assert ip -n "$R" link set br0 up
lab_wait_for 20 lab_ping "$LAB_NS_CLIENT" 10.0.1.3 || lab_fail "B: client cannot reach 10.0.1.3 over br0"
CMAC=$(lab_client cat "/sys/class/net/$LAB_CLIENT_DEV/address")
SMAC=$(lab_server cat "/sys/class/net/$LAB_SERVER_DEV/address")
lab_router bridge fdb show br br0 | grep -v permanent || true
lab_nft_load <<EOF
table bridge lab {
    counter seen { }
    chain forward {
        type filter hook forward priority 0; policy accept;
        counter name "seen"
        ct state invalid drop
    }
}
table inet lab {
    flowtable ft {
        hook ingress priority 0
        devices = { $CLI, $SRV, rt-alt }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF
lab_wait_for 30 has_target "$CLI" "$SMAC" "$SRV" ||
    lab_fail "B: no L2 rule on $CLI for the server's MAC $SMAC: $(ctl_j status | jq -c '.ct')"
lab_assert_eq "$(targets "$CLI" "$SMAC")" "$SRV" "B: $CLI dst_mac $SMAC redirects to"
lab_assert_eq "$(targets "$SRV" "$CMAC")" "$CLI" "B: $SRV dst_mac $CMAC redirects to"
lab_router tc filter show dev "$CLI" ingress chain 1 | grep -E 'dst_mac|mirred' | sed -n 1,4p
f0=$(lab_nft_counter_packets bridge lab seen)
LAB_SERVER_IP4=10.0.1.3 measure "B bridged TCP/IPv4" "$CLI $SRV" "$CLI $SRV" -4 -n 4M -b 20M -T 120
fwd=$(($(lab_nft_counter_packets bridge lab seen) - f0))
echo "B: bridge forward chain saw $fwd packets"
lab_assert_gt $((D_RX * 5)) $((fwd * 100)) "B: 100 x bridge forward-chain packets vs 5 x router rx"
echo "B: done after $(($(date +%s) - T0)) s"

# ---- C. the server moves to rt-alt
lab_assert ip -n "$LAB_NS_SERVER" link set "$LAB_SERVER_DEV" down
lab_assert ip -n "$LAB_NS_SERVER" addr flush dev "$LAB_SERVER_DEV"
lab_assert ip -n "$LAB_NS_SERVER" link set alt0 address "$SMAC"
lab_assert ip -n "$LAB_NS_SERVER" addr add 10.0.1.3/24 dev alt0
lab_assert ip -n "$LAB_NS_SERVER" link set alt0 up
lab_wait_for 20 lab_ping "$LAB_NS_SERVER" "$LAB_CLIENT_IP4" || lab_fail "C: server (alt0) cannot reach the client"
t0=$(date +%s%N)
lab_wait_for 30 has_target "$CLI" "$SMAC" rt-alt ||
    lab_fail "C: $CLI's rule for $SMAC does not redirect to rt-alt: $(targets "$CLI" "$SMAC"); fdb: $(lab_router bridge fdb show br br0 | grep -i "$SMAC")"
echo "C: $CLI dst_mac $SMAC -> $(targets "$CLI" "$SMAC") after $((($(date +%s%N) - t0) / 1000000)) ms"
lab_assert_eq "$(targets rt-alt "$CMAC")" "$CLI" "C: rt-alt dst_mac $CMAC redirects to"
LAB_SERVER_IP4=10.0.1.3 measure "C bridged TCP/IPv4 after the move" "$CLI rt-alt" "$CLI rt-alt" -4 -n 4M -b 20M -T 120

# ---- D. the server's FDB entry ages out (learning off on rt-alt, so nothing refreshes it; an
# ageing_time of 2 s): rt-cli's rules for its MAC go
lab_assert lab_router bridge link set dev rt-alt learning off
lab_assert ip -n "$R" link set br0 type bridge ageing_time 200
t0=$(date +%s%N)
lab_wait_for 20 has_target "$CLI" "$SMAC" "" ||
    lab_fail "D: $CLI still has rules for $SMAC: $(targets "$CLI" "$SMAC"); fdb: $(lab_router bridge fdb show br br0 | grep -i "$SMAC")"
echo "D: the entry for $SMAC aged out; its rules on $CLI removed after $((($(date +%s%N) - t0) / 1000000)) ms"
lab_assert_eq "$(lab_router bridge fdb show br br0 | grep -ci "^$SMAC .*dev rt-alt master" || true)" 0 "D: FDB entries for $SMAC on rt-alt"
# back to a quiet FDB before the stop (with a 2 s ageing, entries keep coming and going)
lab_assert ip -n "$R" link set br0 type bridge ageing_time 30000
lab_assert lab_router bridge link set dev rt-alt learning on
sleep 1
daemon_stop
left=$(lab_tc_cookie_filters "$R" 6e746f01 "$CLI" "$SRV" rt-alt)
if ((left != 0)); then
    # seen once in CI (2026-11-27): two chain-1 rules of ours on one device after the stop,
    # not reproduced in the next runs; which device, which rules, and what the log said
    for d in "$CLI" "$SRV" rt-alt; do
        echo "D: left on $d:" >&2
        lab_router tc -j filter show dev "$d" ingress |
            jq -c '.[] | select(.options.actions) | {chain, pref, handle: .options.handle, keys: .options.keys, act: [.options.actions[] | {kind: .kind, to: .to_dev, cookie}]}' >&2 || true
    done
    grep -n "sync\|stop\|removed\|refused" "$LOG" | tail -20 >&2 || true
fi
lab_assert_eq "$left" 0 "D: rules of ours after stop"
echo "total $(($(date +%s) - T0)) s"
echo PASS
