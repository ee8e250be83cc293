#!/bin/bash
# lab.flowrt_traffic — the flow strategy's runtime (src/flowrt) against the real kernel.
#
# The router masquerades client → server (IPv4 and IPv6, nft `masquerade` on rt-srv) and
# counts TCP and UDP in its forward chain; it has no flowtable of its own. flowrt_labdriver
# (test/unit/flowrt) runs the runtime in the router's namespace on an ev_loop with the
# generic-flow profile and the `flow add` rules of a plan file (parsed, never loaded):
#  1. a TCP transfer (IPv4, then IPv6) must be carried by its two per-connection rules: their
#     packets (read by the runtime just before it deletes them at the close) must be at least
#     90% of what the router's two veths received meanwhile, the forward chain sees only a
#     handful, and the rules go when the connection closes;
#  2. a UDP flow likewise (rule counters from the runtime's flows view, after one poll);
#  3. a TCP flow carried only by tc gets its conntrack timeout refreshed by the runtime's
#     stats polls: `conntrack -L` shows the timeout fall, then jump back up, while the
#     forward chain sees none of its packets;
#  4. SIGTERM stops the runtime, which removes every rule it installed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
lab_require_cmd tc jq nft conntrack iperf3

DRIVER=${NTO_FLOWRT_LABDRIVER:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/unit/flowrt/flowrt_labdriver}
[[ -x $DRIVER ]] || lab_fail "flowrt_labdriver not built: $DRIVER (set NTO_BUILD_DIR)"
W=$(mktemp -d /tmp/lab-flowrt.XXXXXX)
DRV_PID=
stop_driver() {
    [[ -n $DRV_PID ]] || return 0
    kill -TERM "$DRV_PID" 2>/dev/null || true
    wait "$DRV_PID" || true
    DRV_PID=
}
trap 'stop_driver; lab_teardown' EXIT

lab_modprobe nf_conntrack nf_nat nft_chain_nat nft_masq cls_flower act_pedit act_csum \
    act_mirred act_gact sch_ingress
lab_topology_up
C=$LAB_ROUTER_CLIENT_DEV S=$LAB_ROUTER_SERVER_DEV PORT=$LAB_TCP_PORT

lab_nft_load <<EOF_NFT
table inet nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$S" masquerade
    }
}
table inet filter {
    counter fwd_tcp { }
    counter fwd_udp { }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto tcp counter name fwd_tcp
        meta l4proto udp counter name fwd_udp
    }
}
EOF_NFT
# Closing connections leave conntrack quickly, so DESTROY follows a transfer's end; a short
# established timeout makes the refresh visible (the runtime refreshes to the sysctl's value,
# read at start).
for t in fin_wait close_wait last_ack time_wait close; do
    lab_router sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$t=1"
done
lab_router sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=60

cat >"$W/plan.nft" <<EOF_PLAN
table inet offload {
    flowtable ft {
        hook ingress priority 0; devices = { $C, $S };
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        tcp dport 22 accept
        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF_PLAN

# not through lab_router: a backgrounded function is a subshell, and signals must reach
# the driver itself (ip netns exec execs it: same pid)
ip netns exec "$LAB_NS_ROUTER" "$DRIVER" --nft "$W/plan.nft" --status "$W/status.json" --ready "$W/ready" \
    --stats-ms 4000 >"$W/drv.log" 2>&1 &
DRV_PID=$!
lab_wait_for 30 test -e "$W/ready" || { cat "$W/drv.log" >&2; lab_fail "driver did not start"; }
lab_tcp_server_start

rx_sum() { echo $(($(lab_dev_rx_packets "$LAB_NS_ROUTER" "$C") + $(lab_dev_rx_packets "$LAB_NS_ROUTER" "$S"))); }
status() { # status — ask the driver for its views; prints the JSON file
    rm -f "$W/status.json"
    kill -USR1 "$DRV_PID"
    lab_wait_for 10 test -s "$W/status.json" || lab_fail "no status written"
    cat "$W/status.json"
}

# ---------------------------------------------------------------- 1: TCP, IPv4 and IPv6
tcp_case() { # tcp_case 4|6
    local fam=$1 cip sip rx0 rx1 fwd0 fwd1 bytes port line op rp rx fwd pct
    if [[ $fam == 6 ]]; then cip=$LAB_CLIENT_IP6 sip=$LAB_SERVER_IP6; else cip=$LAB_CLIENT_IP4 sip=$LAB_SERVER_IP4; fi
    rx0=$(rx_sum)
    fwd0=$(lab_nft_counter_packets inet filter fwd_tcp)
    bytes=$(lab_tcp_transfer "-$fam" -t 4 -b 20M -o "$W/t$fam.json") || lab_fail "IPv$fam transfer failed"
    port=$(jq -r '.start.connected[0].local_port' "$W/t$fam.json")
    lab_assert_int "$port" "IPv$fam data connection's client port"
    local key="tcp src=$cip dst=$sip sport=$port dport=$PORT "
    lab_wait_for 30 grep -qF "delete: $key" "$W/drv.log" || {
        grep -E "sport=$port |install|warning|error" "$W/drv.log" >&2 || true
        lab_fail "IPv$fam: the rules of $key were not deleted at its close"
    }
    rx1=$(rx_sum)
    fwd1=$(lab_nft_counter_packets inet filter fwd_tcp)
    line=$(grep -F "delete: $key" "$W/drv.log" | head -n 1)
    op=$(sed -E 's/.*orig_packets=([0-9]+).*/\1/' <<<"$line")
    rp=$(sed -E 's/.*reply_packets=([0-9]+).*/\1/' <<<"$line")
    rx=$((rx1 - rx0))
    fwd=$((fwd1 - fwd0))
    pct=$(((op + rp) * 100 / (rx > 0 ? rx : 1)))
    echo "IPv$fam TCP: $bytes bytes; rules carried $op + $rp packets of $rx received by the router's veths ($pct%); forward chain saw $fwd TCP packets (both iperf3 connections)"
    lab_assert_gt "$bytes" 1000000 "IPv$fam bytes transferred"
    lab_assert_ge "$pct" 90 "IPv$fam: percent of the router's packets carried by the flow's rules"
    ((fwd * 10 < op + rp)) || lab_fail "IPv$fam: the forward chain saw $fwd TCP packets"
}
tcp_case 4
tcp_case 6
grep -qE "warning: tcp be_liberal" "$W/drv.log" && lab_fail "be_liberal failed: $(grep be_liberal "$W/drv.log")"

# ---------------------------------------------------------------- 2: UDP
rx0=$(rx_sum)
fwdu0=$(lab_nft_counter_packets inet filter fwd_udp)
timeout -k 5 40 ip netns exec "$LAB_NS_CLIENT" iperf3 -c "$LAB_SERVER_IP4" -p "$PORT" -u -b 2M -t 4 \
    -J --connect-timeout 5000 >"$W/u.json" || lab_fail "UDP transfer failed"
uport=$(jq -r '.start.connected[0].local_port // empty' "$W/u.json")
[[ $uport =~ ^[0-9]+$ ]] || {
    jq -c .error "$W/u.json" >&2
    tail -n 30 "$W/drv.log" >&2
    lab_conntrack -L -p udp >&2 || true
    lab_router tc -s filter show dev "$C" ingress >&2
    lab_router tc -s filter show dev "$S" ingress >&2
    lab_fail "no UDP client port in iperf3's report"
}
sleep 5 # one stats poll after the end
rx1=$(rx_sum)
fwdu1=$(lab_nft_counter_packets inet filter fwd_udp)
st=$(status)
flow=$(jq -c --argjson p "$uport" '.flows[] | select(.proto == "udp" and .original.sport == $p)' <<<"$st")
[[ -n $flow ]] || lab_fail "no UDP flow with client port $uport in the runtime's view: $(jq -c .flows <<<"$st")"
jq -e '.state == "offloaded"' <<<"$flow" >/dev/null || lab_fail "UDP flow not offloaded: $flow"
uo=$(jq '.rules[0].packets' <<<"$flow")
ur=$(jq '.rules[1].packets' <<<"$flow")
rx=$((rx1 - rx0))
fwdu=$((fwdu1 - fwdu0))
sent=$(jq '.end.sum.packets // .end.streams[0].udp.packets // 0' "$W/u.json")
pct=$(((uo + ur) * 100 / (rx > 0 ? rx : 1)))
echo "UDP: client sent $sent datagrams; rules carried $uo + $ur packets of $rx received by the router's veths ($pct%, the rest: iperf3's TCP control connection); forward chain saw $fwdu UDP packets"
lab_assert_gt "$uo" 100 "UDP packets through the original-direction rule"
lab_assert_ge "$((uo * 100 / (sent > 0 ? sent : 1)))" 90 "percent of the UDP datagrams carried by the rule"
((fwdu * 10 < uo + ur)) || lab_fail "the forward chain saw $fwdu UDP packets"

# ---------------------------------------------------------------- 3: timeout refresh
# long enough that the sampling window below ends well before the connection does (in
# this TCG VM the setup above takes up to ~20 s and one sample 2-3 s); stopped after it
lab_tcp_transfer_bg -4 -t 120 -b 2M
lab_wait_for 15 lab_client_tcp_busiest_port "$PORT" >/dev/null || lab_fail "background transfer did not start"
sleep 2
bport=$(lab_client_tcp_busiest_port "$PORT")
offloaded() { status | jq -e --argjson p "$1" '[.flows[] | select(.state == "offloaded" and .original.sport == $p)] | length == 1' >/dev/null; }
lab_wait_for 15 offloaded "$bport" || lab_fail "background flow (port $bport) not offloaded"
fwd0=$(lab_nft_counter_packets inet filter fwd_tcp)
samples=()
t0=$SECONDS
for _ in $(seq 1 14); do
    t=$(lab_conntrack -L -p tcp --orig-port-src "$bport" --orig-port-dst "$PORT" 2>/dev/null | awk '{print $3}' | head -n 1)
    samples+=("${t:-none}")
    sleep 1
done
fwd1=$(lab_nft_counter_packets inet filter fwd_tcp)
echo "conntrack timeout of the background flow, 14 samples a second apart over $((SECONDS - t0)) s: ${samples[*]} (forward chain: $((fwd1 - fwd0)) TCP packets meanwhile)"
lab_bg_alive || lab_fail "the background transfer ended within the sampling window"
fell=0 jumped=0
for ((i = 1; i < ${#samples[@]}; i++)); do
    a=${samples[i - 1]} b=${samples[i]}
    [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] || continue
    ((b < a)) && fell=1
    ((b > a)) && jumped=1
done
((fell && jumped)) || lab_fail "no timeout fall-then-refresh seen: ${samples[*]}"
(((fwd1 - fwd0) <= 2)) || lab_fail "the forward chain saw $((fwd1 - fwd0)) TCP packets while the flow was in tc"
lab_bg_stop

# ---------------------------------------------------------------- 4: stop removes the rules
st=$(status)
echo "status: $(jq -c '.status | {tracked, offloaded, in_software, in_software_by_reason, conntrack: .conntrack | {events, overruns, dumps, refresh_ok, refresh_errors, liberal_ok, liberal_errors}, netlink}' <<<"$st")"
lab_assert_ge "$(jq '.status.conntrack.refresh_ok' <<<"$st")" 1 "conntrack timeout refreshes"
lab_assert_eq "$(jq '.status.netlink.install_errors' <<<"$st")" 0 "install errors"
stop_driver
grep -q "^stopped" "$W/drv.log" || lab_fail "driver did not stop cleanly: $(tail -n 5 "$W/drv.log")"
left=0
for d in "$C" "$S"; do
    n=$(lab_router tc -j filter show dev "$d" ingress 2>/dev/null | jq '[.[] | select(.options != null)] | length' 2>/dev/null || echo 0)
    left=$((left + ${n:-0}))
done
lab_assert_eq "$left" 0 "flower filters left after stop"
echo "PASS"
