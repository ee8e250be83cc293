#!/bin/bash
# lab.tc_ct_chain — the ct strategy's two-chain shape works in this kernel and really
# sees the traffic: chain 0 sends untracked TCP through act_ct (zone 5) and on to chain 1,
# where established packets pass. A TCP transfer client → server through the router must
# raise the rules' counters by (about) the number of TCP segments the router received.
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap lab_teardown EXIT

lab_modprobe cls_flower act_ct act_gact
lab_topology_up

# Same rules on both router ports, as the ct strategy installs them per flowtable device;
# the reply direction must meet zone 5 too, or zone 5 never sees the connection established.
for dev in "$LAB_ROUTER_CLIENT_DEV" "$LAB_ROUTER_SERVER_DEV"; do
    lab_router tc qdisc add dev "$dev" clsact
    lab_assert lab_router tc filter add dev "$dev" ingress chain 0 pref 1 protocol ip \
        flower ip_proto tcp ct_state -trk action ct zone 5 pipe action goto chain 1
    lab_assert lab_router tc filter add dev "$dev" ingress chain 1 pref 1 protocol ip \
        flower ip_proto tcp ct_state +trk+est action pass
    lab_assert lab_router tc filter add dev "$dev" ingress chain 1 pref 2 protocol ip \
        flower ip_proto tcp ct_state +trk+new action ct commit zone 5 pipe action pass
done

R=$LAB_NS_ROUTER
rx_before=$(lab_dev_rx_packets "$R" "$LAB_ROUTER_CLIENT_DEV")
srx_before=$(lab_dev_rx_packets "$R" "$LAB_ROUTER_SERVER_DEV")
bytes=$(lab_tcp_transfer -4 -t 2) || lab_fail "TCP transfer through the tc ct rules failed"
rx=$(($(lab_dev_rx_packets "$R" "$LAB_ROUTER_CLIENT_DEV") - rx_before))
srx=$(($(lab_dev_rx_packets "$R" "$LAB_ROUTER_SERVER_DEV") - srx_before))

c0=$(lab_tc_action_packets "$R" "$LAB_ROUTER_CLIENT_DEV" ingress 0 ct)
g0=$(lab_tc_action_packets "$R" "$LAB_ROUTER_CLIENT_DEV" ingress 0 gact)
est=$(lab_tc_filter_packets "$R" "$LAB_ROUTER_CLIENT_DEV" ingress 1 1)
new=$(lab_tc_filter_packets "$R" "$LAB_ROUTER_CLIENT_DEV" ingress 1 2)
est_rpl=$(lab_tc_filter_packets "$R" "$LAB_ROUTER_SERVER_DEV" ingress 1 1)
new_rpl=$(lab_tc_filter_packets "$R" "$LAB_ROUTER_SERVER_DEV" ingress 1 2)
echo "transfer: $bytes bytes; $LAB_ROUTER_CLIENT_DEV rx $rx packets, $LAB_ROUTER_SERVER_DEV rx $srx packets"
echo "$LAB_ROUTER_CLIENT_DEV chain 0: ct $c0, goto $g0; chain 1: +est $est, +new (commit) $new"
echo "$LAB_ROUTER_SERVER_DEV chain 1: +est $est_rpl, +new $new_rpl"

lab_assert_gt "$bytes" 1000000 "bytes received by the server"
lab_assert_gt "$rx" 1000 "packets received on $LAB_ROUTER_CLIENT_DEV"
# Every TCP packet the router received from the client went through chain 0 ...
lab_assert_eq "$g0" "$c0" "chain 0: goto counter vs ct counter"
lab_assert_ge "$c0" $((rx - 20)) "chain 0 ct packets (router rx $rx, minus a few ARP/ND/ICMP)"
# ... and on through chain 1: new connections once each (iperf3 opens 2), the rest +est.
lab_assert_eq $((est + new)) "$c0" "chain 1 (+est + +new) vs chain 0"
lab_assert_ge "$new" 2 "+trk+new packets (one SYN per iperf3 connection)"
lab_assert_ge 10 "$new" "+trk+new packets must stay a handful, got $new"
lab_assert_ge "$est" $((rx - 30)) "+trk+est packets"
# The reply direction (the server's ACKs) was tracked in zone 5 as established, never new.
lab_assert_gt "$srx" 100 "packets received on $LAB_ROUTER_SERVER_DEV"
lab_assert_ge "$est_rpl" $((srx - 20)) "+trk+est packets from the server side (router rx $srx)"
lab_assert_eq "$new_rpl" 0 "+trk+new packets from the server side"
echo "PASS"
