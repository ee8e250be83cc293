#!/bin/bash
# lab.conntrack_engine — the flow strategy's conntrack engine against the real kernel.
#
# The router masquerades client → server TCP (nft `masquerade` on rt-srv) and counts TCP in
# its forward chain; it has no flowtable of its own. ct_labdriver (test/unit/conntrack) runs
# in the router's namespace: it subscribes to conntrack NEW/UPDATE/DESTROY events, feeds them
# to the engine with the `flow add` constraints of a plan file (parsed, never loaded), and
#  1. dry: logs the events and prints the two rules the engine builds. The data connection of
#     a first transfer must show NEW, an ESTABLISHED [ASSURED] update and DESTROY with the
#     right tuples (the reply tuple carries the masquerade address); its two printed rules
#     must install with `tc -batch` on the router's veths;
#  2. --install: installs / deletes the rules through the netlink core. A second transfer must
#     be carried by them (the rules' packet counters, read just before their delete) while
#     the nft forward chain sees only a handful of its packets.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
lab_require_cmd tc jq nft conntrack

DRIVER=${NTO_CT_LABDRIVER:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/unit/conntrack/ct_labdriver}
[[ -x $DRIVER ]] || lab_fail "ct_labdriver not built: $DRIVER (set NTO_BUILD_DIR)"
W=$(mktemp -d /tmp/lab-ct.XXXXXX)
DRV_PID=
stop_driver() { # stop_driver N — ask driver N to stop and reap it
    [[ -n $DRV_PID ]] || return 0
    touch "$W/stop$1"
    wait "$DRV_PID" || true
    DRV_PID=
}
trap 'stop_driver x; lab_teardown' EXIT

lab_modprobe nf_conntrack nf_nat nft_chain_nat nft_masq cls_flower act_pedit act_csum \
    act_mirred act_gact sch_ingress
lab_topology_up
C=$LAB_ROUTER_CLIENT_DEV S=$LAB_ROUTER_SERVER_DEV
CIP=$LAB_CLIENT_IP4 SIP=$LAB_SERVER_IP4 NATIP=$LAB_ROUTER_SERVER_IP4 PORT=$LAB_TCP_PORT

lab_nft_load <<EOF_NFT
table ip nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$S" masquerade
    }
}
table inet filter {
    counter fwd_tcp { }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto tcp counter name fwd_tcp
    }
}
EOF_NFT
# Closing connections leave conntrack quickly, so DESTROY follows the transfer's end.
for t in fin_wait close_wait last_ack time_wait close; do
    lab_router sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$t=1"
done

# What the engine is asked to offload (only the driver reads this file).
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
cmac=$(ip -n "$LAB_NS_CLIENT" -j link show "$LAB_CLIENT_DEV" | jq -r '.[0].address')
smac=$(ip -n "$LAB_NS_SERVER" -j link show "$LAB_SERVER_DEV" | jq -r '.[0].address')
DEVS=(--dev "$C,$LAB_CLIENT_NET4,$cmac" --dev "$S,$LAB_SERVER_NET4,$smac")

start_driver() { # start_driver N [--install] — driver N in the router ns, logging to drvN.log
    local n=$1
    shift
    lab_router "$DRIVER" --nft "$W/plan.nft" "${DEVS[@]}" --batch "$W/rules$n.txt" \
        --ready "$W/ready$n" --stop "$W/stop$n" --seconds 200 "$@" >"$W/drv$n.log" 2>&1 &
    DRV_PID=$!
    lab_wait_for 20 test -e "$W/ready$n" || { cat "$W/drv$n.log" >&2; lab_fail "driver $n did not start"; }
}

data_port() { jq -r '.start.connected[0].local_port' "$1"; }

# ---------------------------------------------------------------- 1: events and rules, dry
start_driver 1
lab_tcp_transfer -4 -t 2 -b 20M -o "$W/t1.json" >/dev/null || lab_fail "first transfer failed"
port=$(data_port "$W/t1.json")
lab_assert_int "$port" "data connection's client port"
tuple="src=$CIP dst=$SIP sport=$port dport=$PORT"
# A conntrack dump reaps expired entries (the periodic GC may take up to a minute): the
# DESTROY is still the timeout's, not a deletion of ours.
destroyed() {
    lab_conntrack -L >/dev/null 2>&1 || true
    grep -q "^event: DESTROY tcp .*$tuple" "$W/drv1.log" && return 0
    sleep 0.5
    return 1
}
lab_wait_for 30 destroyed || {
    grep -F "sport=$port " "$W/drv1.log" >&2 || true
    lab_fail "no DESTROY event for $tuple within 30 s"
}
stop_driver 1
echo "events of the data connection ($tuple):"
grep -E "^event: .*sport=$port dport=$PORT" "$W/drv1.log"

new=$(grep -E "^event: NEW tcp .*SYN_SENT $tuple \[UNREPLIED\] src=$SIP dst=$NATIP sport=$PORT dport=[0-9]+ " "$W/drv1.log") ||
    lab_fail "no NEW event with the masqueraded reply tuple for $tuple"
natport=$(sed -E 's/.*\[UNREPLIED\] src=[^ ]+ dst=[^ ]+ sport=[0-9]+ dport=([0-9]+) .*/\1/' <<<"$new" | head -n 1)
rtuple="src=$SIP dst=$NATIP sport=$PORT dport=$natport"
grep -qE "^event: UPDATE tcp [0-9]+ ESTABLISHED $tuple $rtuple \[ASSURED\]" "$W/drv1.log" ||
    lab_fail "no ESTABLISHED [ASSURED] update for $tuple / $rtuple"
grep -qE "^event: DESTROY tcp .*$tuple $rtuple" "$W/drv1.log" ||
    lab_fail "the DESTROY event of $tuple lacks the reply tuple $rtuple"
# the engine's decision right after the ASSURED update
grep -A3 -E "^event: UPDATE tcp [0-9]+ ESTABLISHED $tuple" "$W/drv1.log" | grep -q "^flow: offloaded" ||
    lab_fail "the engine did not offload $tuple after its ASSURED update"

orig=$(grep -E "flower indev $C ip_proto tcp src_ip $CIP dst_ip $SIP src_port $port dst_port $PORT " "$W/rules1.txt") ||
    lab_fail "no original-direction rule printed for $tuple"
reply=$(grep -E "flower indev $S ip_proto tcp src_ip $SIP dst_ip $NATIP src_port $PORT dst_port $natport " "$W/rules1.txt") ||
    lab_fail "no reply-direction rule printed for $rtuple"
echo "rules built for it:"
printf '%s\n%s\n' "$orig" "$reply"
lab_assert_match "$orig" "munge ip src set $NATIP munge tcp sport set $natport munge ip ttl add 0xff .*action csum iph tcp .*action mirred egress redirect dev $S" "original rule"
lab_assert_match "$reply" "munge ip dst set $CIP munge tcp dport set $port munge ip ttl add 0xff .*action csum iph tcp .*action mirred egress redirect dev $C" "reply rule"
for d in "$C" "$S"; do lab_router tc qdisc add dev "$d" clsact; done
printf '%s\n%s\n' "$orig" "$reply" >"$W/batch1.txt"
lab_router tc -batch "$W/batch1.txt" || lab_fail "tc -batch refused the printed rules"
n=$(( $(lab_router tc -j filter show dev "$C" ingress | jq '[.[] | select(.options != null)] | length') +
      $(lab_router tc -j filter show dev "$S" ingress | jq '[.[] | select(.options != null)] | length') ))
lab_assert_eq "$n" 2 "flower filters installed by tc -batch"
for d in "$C" "$S"; do lab_router tc qdisc del dev "$d" clsact; done

# ---------------------------------------------------------------- 2: installed, carrying traffic
fwd0=$(lab_nft_counter_packets inet filter fwd_tcp)
start_driver 2 --install
bytes=$(lab_tcp_transfer -4 -t 2 -b 20M -o "$W/t2.json") || lab_fail "second transfer failed"
fwd1=$(lab_nft_counter_packets inet filter fwd_tcp)
port=$(data_port "$W/t2.json")
tuple="src=$CIP dst=$SIP sport=$port dport=$PORT"
lab_wait_for 30 grep -q "^delete: tcp $tuple" "$W/drv2.log" || {
    grep -E "sport=$port |^install|^delete|^clsact" "$W/drv2.log" >&2 || true
    lab_fail "the rules of $tuple were not deleted at its close"
}
stop_driver 2
grep -E "^(install|liberal|delete|counters)" "$W/drv2.log"
lab_assert_eq "$(grep -cE "^install: tcp $tuple zone=0 dir=[01] ok" "$W/drv2.log")" 2 \
    "rules of $tuple installed through the netlink core"
if grep -qE "^install: .* error" "$W/drv2.log"; then lab_fail "an install failed"; fi
grep -qE "^liberal: tcp $tuple zone=0 ok" "$W/drv2.log" ||
    lab_fail "window tracking of $tuple not made liberal (its FIN would be INVALID)"
del=$(grep -E "^delete: tcp $tuple" "$W/drv2.log" | head -n 1)
op=$(sed -E 's/.*orig_packets=([0-9]+).*/\1/' <<<"$del")
rp=$(sed -E 's/.*reply_packets=([0-9]+).*/\1/' <<<"$del")
fwd=$((fwd1 - fwd0))
echo "second transfer: $bytes bytes received; flow rules carried $op (original) + $rp (reply) packets; nft forward chain saw $fwd TCP packets (both iperf3 connections)"
lab_assert_gt "$bytes" 1000000 "bytes of the second transfer"
lab_assert_gt "$op" 1000 "packets through the original-direction rule"
lab_assert_gt "$rp" 100 "packets through the reply-direction rule"
# The handshakes, the FIN/RST packets, and what passes between the ASSURED event and the
# install (in this TCG VM with an ASan build: 0.1-0.2 s, ~300 packets at 20 Mbit/s).
((fwd * 5 < op + rp)) || lab_fail "the forward chain saw $fwd TCP packets: more than 20% of the $((op + rp)) the rules carried"
echo "PASS"
