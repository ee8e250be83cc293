#!/bin/bash
# lab.demo — README's first command: `nft-tc-offload run` with no configuration file (the
# embedded defaults) on a router namespace whose nftables ruleset has a flowtable and
# `meta l4proto { tcp, udp } flow add @ft`. veth is a generic-flow device, so each connection
# gets two tc rules from conntrack events. One TCP transfer through the router; the operator's
# commands shown; asserted: the transfer's packets went through our rules (>= 95% of what the
# router received), the nft forward chain saw < 5%, and stop removes every rule.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap '[[ -n ${DPID:-} ]] && kill "$DPID" 2>/dev/null; lab_teardown' EXIT
lab_require_cmd iperf3 jq tc nft

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
DPID=
lab_modprobe nf_conntrack nft_masq cls_flower act_pedit act_csum act_mirred act_gact \
    nf_flow_table nf_flow_table_inet nft_flow_offload
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV SRV=$LAB_ROUTER_SERVER_DEV
lab_nft_load <<EOF
table inet filter {
    counter fwdc { }
    flowtable ft { hook ingress priority filter; devices = { $CLI, $SRV }; }
    chain forward {
        type filter hook forward priority filter; policy accept;
        counter name "fwdc"
        meta l4proto { tcp, udp } flow add @ft
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$SRV" masquerade
    }
}
EOF
show() { echo "# $*"; lab_router "$@"; echo; }
rx() { echo $(($(lab_dev_rx_packets "$R" "$CLI") + $(lab_dev_rx_packets "$R" "$SRV"))); }

echo "== router ruleset:"
lab_router nft list ruleset
ip netns exec "$R" "$BIN" run >/tmp/nto-demo.log 2>&1 &
DPID=$!
lab_wait_for 90 lab_router "$BIN" status || lab_fail "the daemon did not answer"
show "$BIN" status
lab_tcp_server_start
r0=$(rx) f0=$(lab_nft_counter_packets inet filter fwdc)
lab_tcp_transfer_bg -4 -n 6M -b 4M -T 120
lab_wait_for 30 sh -c "[ \$(ip netns exec $R $BIN status -j | jq '.flow.offloaded') -ge 1 ]" ||
    lab_fail "no connection offloaded"
sleep 2
show "$BIN" flows
show "$BIN" explain "$LAB_CLIENT_IP4" "$LAB_SERVER_IP4"
show "$BIN" rules
lab_bg_wait || lab_fail "the transfer failed"
echo "transfer: $LAB_BG_BYTES bytes"
dr=$(($(rx) - r0)) df=$(($(lab_nft_counter_packets inet filter fwdc) - f0))
# the rules are deleted at the connections' close: the daemon logs what they carried
lab_wait_for 20 sh -c "[ \$(ip netns exec $R $BIN status -j | jq '.flow.offloaded') -eq 0 ]" ||
    lab_fail "connections still offloaded after the transfer"
dc=$(lab_router "$BIN" status -j | jq '.flow.carried_packets')
echo "router received $dr packets; our tc rules carried $dc ($((dc * 100 / (dr ? dr : 1)))%);" \
    "the nft forward chain saw $df ($((df * 100 / (dr ? dr : 1)))%)"
lab_assert_ge $((dc * 100)) $((dr * 95)) "100 x carried vs 95 x received"
lab_assert_gt $((dr * 5)) $((df * 100)) "100 x forward chain vs 5 x received"
show "$BIN" metrics
kill -TERM "$DPID"
wait "$DPID" || lab_fail "exit status after SIGTERM"
DPID=
grep -E "flow runtime|delete:" /tmp/nto-demo.log | sed -n 1,5p
lab_assert_eq "$(lab_tc_cookie_filters "$R" 6e746f01 "$CLI" "$SRV")" 0 "rules of ours after stop"
echo "stopped: no rule of ours left"
echo PASS
