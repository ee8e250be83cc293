#!/bin/bash
# lab.flowtable_sw — the kernel's software flowtable (no `flags offload`) takes an
# established TCP connection: while the transfer runs, conntrack shows the connection
# with [OFFLOAD], and the nft forward chain sees only the packets before that.
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap lab_teardown EXIT

lab_modprobe nf_flow_table nf_flow_table_inet nft_flow_offload nf_conntrack
lab_topology_up

lab_nft_load - <<EOF_NFT
table inet lab {
    counter fwd_tcp { }
    flowtable ft {
        hook ingress priority 0
        devices = { $LAB_ROUTER_CLIENT_DEV, $LAB_ROUTER_SERVER_DEV }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto tcp flow add @ft
        meta l4proto tcp counter name fwd_tcp
    }
}
EOF_NFT
lab_router nft list ruleset >&2

port=$LAB_TCP_PORT
R=$LAB_NS_ROUTER
# Rate-capped so the VM's single emulated CPU stays free for the checks below; long
# enough to outlast them even on a loaded host (it is stopped once they are done).
lab_tcp_transfer_bg -4 -t 120 -b 20M -p "$port"

# The data connection must show [OFFLOAD] while the transfer is alive: poll until then.
# (iperf3 also holds an idle control connection; the flowtable lets an idle flow go after
# 30 s, so only the data connection is sure to stay in it.)
conn_filter=(-p tcp --orig-dst "$LAB_SERVER_IP4" --dport "$port")
data_offloaded() {
    local p entries
    p=$(lab_client_tcp_busiest_port "$port") || return 1
    entries=$(lab_conntrack -L "${conn_filter[@]}" 2>/dev/null)
    grep -E "src=$LAB_CLIENT_IP4 dst=$LAB_SERVER_IP4 sport=$p dport=$port .*\[OFFLOAD\]" <<<"$entries" ||
        return 1
}
until entry=$(data_offloaded); do
    if ! lab_bg_alive; then
        lab_conntrack -L >&2 || true
        lab_fail "the transfer ended before its data connection to $LAB_SERVER_IP4:$port showed [OFFLOAD] in conntrack"
    fi
    sleep 0.2
done
lab_bg_alive || lab_fail "the transfer had already ended when [OFFLOAD] was checked"
echo "conntrack entry of the data connection while the transfer runs:"
echo "$entry"

# While offloaded, packets bypass the forward chain: its counter stands still while the
# router receives the transfer's packets and the server receives them.
fwd1=$(lab_nft_counter_packets inet lab fwd_tcp)
rx1=$(lab_dev_rx_packets "$R" "$LAB_ROUTER_CLIENT_DEV")
srv1=$(lab_dev_rx_packets "$LAB_NS_SERVER" "$LAB_SERVER_DEV")
sleep 2
fwd2=$(lab_nft_counter_packets inet lab fwd_tcp)
rx2=$(lab_dev_rx_packets "$R" "$LAB_ROUTER_CLIENT_DEV")
srv2=$(lab_dev_rx_packets "$LAB_NS_SERVER" "$LAB_SERVER_DEV")
lab_bg_alive || lab_fail "the transfer ended during the counter window"
data_offloaded >/dev/null || lab_fail "the data connection left the flowtable during the counter window"
echo "while offloaded: $LAB_ROUTER_CLIENT_DEV rx +$((rx2 - rx1)), $LAB_SERVER_DEV rx +$((srv2 - srv1)), forward chain +$((fwd2 - fwd1)) packets"
lab_assert_gt $((rx2 - rx1)) 500 "packets received on $LAB_ROUTER_CLIENT_DEV in the window"
lab_assert_gt $((srv2 - srv1)) 500 "packets delivered to $LAB_SERVER_DEV in the window"
lab_assert_eq $((fwd2 - fwd1)) 0 "TCP packets through the nft forward chain while offloaded"
lab_assert_gt "$fwd1" 0 "TCP packets through the forward chain before offload (the handshakes)"

lab_bg_stop
echo "PASS"
