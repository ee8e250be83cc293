#!/bin/bash
# lab.daemon_flow — `nft-tc-offload run` on its embedded defaults (no configuration file):
# veth is a generic-flow device, so the router's flowtable gets the flow strategy, with one
# pair of tc rules per connection, driven by conntrack.
#
# The router's ruleset: a software flowtable on both router ports, `meta l4proto { tcp, udp }
# flow add @ft`, masquerade towards the server, TCP to port 5202 dropped before `flow add`, and
# counters for port 5310 (the long connection of step 3). TCP established timeout 15 s.
#
#  1. ready with no configuration file: both veths generic-flow, strategy flow.
#  2. TCP/IPv4, TCP/IPv6 (iperf3) and UDP: >= 95% of the router's packets carried by our
#     per-connection rules (status carried_packets), the nft forward chain < 5%.
#  3. a connection that sends only through tc for 60 s keeps its conntrack entry although the
#     established timeout is 15 s; flows / explain / rules / metrics show it (asserted);
#     closing it (FIN) removes both rules within 2 s.
#  4. RST removes both rules within 2 s;
#     a UDP flow's rules go when its conntrack entry expires.
#  5. TCP to the blocked port fails, and explain says which rule keeps it in software.
#  6. a device added to the flowtable (`nft add flowtable`) shows up within 2 s.
#  7. a ruleset change (a table added): the re-plan keeps the live connection's rules (same
#     handles, adopted); the server port taken out of the flowtable: both rules deleted, the
#     connection goes on in software; put back: offloaded again; then kill -9 and restart:
#     adopted (same handles), no orphans, no echo lost throughout.
#  8. 1,000 concurrent connections: all offloaded, all echo, zero rules after they close.
#  9. SIGTERM: zero rules of ours, traffic flows through the stack.
# 10. restarted with a profile of capacity 200 rules (100 connections): of 200 connections
#     exactly 100 are offloaded, the rest stay in software with reason table-full, all work.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 80; lab_teardown' EXIT
lab_require_cmd iperf3 jq tc nft conntrack

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
CONNS=${NTO_CONNS:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/lab/tools/conns}
[[ -x $CONNS ]] || lab_fail "conns not built: $CONNS"
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
COOKIE=6e746f01
LOG=/tmp/nto-flow.log
W=$(mktemp -d /tmp/lab-dflow.XXXXXX)
DPID=


lab_modprobe nf_conntrack nf_nat nft_chain_nat nft_masq cls_flower act_pedit act_csum \
    act_mirred act_gact nf_flow_table nf_flow_table_inet nft_flow_offload
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV
C4=$LAB_CLIENT_IP4 S4=$LAB_SERVER_IP4
ulimit -n 8192 # 1,000 connections in one process (client and server)

lab_nft_load <<EOF
table inet lab {
    counter seen { }
    counter c5310 { }
    flowtable ft {
        hook ingress priority 0
        devices = { $CLI, $SRV }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        counter name "seen"
        tcp dport 5310 counter name "c5310"
        tcp sport 5310 counter name "c5310"
        tcp dport 5202 drop
        meta l4proto { tcp, udp } flow add @ft
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$SRV" masquerade
    }
}
EOF
lab_router sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=15
lab_router sysctl -qw net.netfilter.nf_conntrack_udp_timeout=5
lab_router sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=10
# The software flowtable's entries idle out once our rules carry the packets; 6.1 then sets the
# conntrack timeout to (conntrack timeout - flowtable timeout), at least 0: with 15 s against
# the default 30 s the entry would die at once (the daemon warns, step 10). 5 s here.
lab_router sysctl -qw net.netfilter.nf_flowtable_tcp_timeout=5
lab_router sysctl -qw net.netfilter.nf_flowtable_udp_timeout=5
for t in fin_wait close_wait last_ack time_wait close; do
    lab_router sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$t=2"
done

# echo servers in the server namespace: TCP 5301 and 5310, UDP 5303
for p in 5301 5310; do
    ip netns exec "$LAB_NS_SERVER" "$CONNS" serve "$p" >/dev/null 2>&1 &
    LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
done
ip netns exec "$LAB_NS_SERVER" "$CONNS" serve --udp 5303 >/dev/null 2>&1 &
LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
lab_wait_for 20 lab_tcp_listening 5310 || lab_fail "echo server on 5310"
lab_wait_for 20 lab_tcp_listening 5301 || lab_fail "echo server on 5301"

ctl() { lab_router "$BIN" "$@"; }        # default socket: embedded defaults
ctl_j() { lab_router "$BIN" "$1" -j "${@:2}"; }
ours() { lab_tc_cookie_filters "$R" "$COOKIE" "$CLI" "$SRV"; }
fwd() { lab_nft_counter_packets inet lab seen; }
rx() { echo $(($(lab_dev_rx_packets "$R" "$CLI") + $(lab_dev_rx_packets "$R" "$SRV"))); }
st() { ctl_j status; }
offloaded() { ctl_j status | jq '.flow.offloaded'; }
carried() { ctl_j status | jq '.flow.carried_packets'; }
polls() { ctl_j status | jq '.flow.polls'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# flow_state SPORT — the state of the tracked connection with that client port ("" if none)
flow_state() {
    ctl_j flows | jq -r --argjson p "$1" '[.flows[] | select(.original.sport == $p) | .state] | first // ""'
}
is_offloaded() { [[ $(flow_state "$1") == offloaded ]]; }
rule_on_cli() { lab_router tc filter show dev "$CLI" ingress | grep -q "src_port $1\$"; }
no_rule_on_cli() { ! rule_on_cli "$1"; }
status_ge() { [[ $(ctl_j status | jq "$1") -ge $2 ]]; } # status_ge JQ-PATH N
status_eq() { [[ $(ctl_j status | jq "$1") -eq $2 ]]; }
# conns ARGS... — test/lab/tools/conns in the client namespace
conns() { ip netns exec "$LAB_NS_CLIENT" "$CONNS" "$@"; }
# rule_ids SPORT — "DEV HANDLE" of each rule of the offloaded connection from client port SPORT
rule_ids() {
    ctl_j flows | jq -r --argjson p "$1" \
        '.flows[] | select(.original.sport == $p) | .rules[] | "\(.dev) \(.handle)"'
}
# close_to_gone_ms SPORT STATE IDS — from conntrack's event moving the connection from client
# port SPORT to STATE (conntrack -E timestamps: the close reaching the router) to the later of
# its two rules' deletions (tc monitor timestamps), in ms; IDS as rule_ids printed them
close_to_gone_ms() {
    local sport=$1 state=$2 ids=$3 ev dev h t last=0 ms re
    re="\][[:space:]]+\[UPDATE\] tcp .* $state .*sport=$sport "
    lab_wait_for 5 grep -q -E "$re" "$W/ev.log" || true # the monitors write asynchronously
    ev=$(grep -m1 -E "\][[:space:]]+\[UPDATE\] tcp .* $state .*sport=$sport " "$W/ev.log" |
        sed -E 's/^\[([0-9]+)\.([0-9]{3}).*/\1\2/') ||
        lab_fail "no conntrack $state event for port $sport: $(grep "sport=$sport " "$W/ev.log")"
    while read -r dev h; do
        re="deleted filter dev $dev ingress .* handle $(printf '0x%x' "$h") *\$"
        lab_wait_for 5 grep -q -E "$re" "$W/mon.log" || true
        t=$(grep -m1 -E "deleted filter dev $dev ingress .* handle $(printf '0x%x' "$h") *\$" "$W/mon.log" |
            sed -E 's/^\[([^]]+)\].*/\1/') || lab_fail "no deletion of $dev handle $h in tc monitor"
        ms=$(($(date -d "$t" +%s%N) / 1000000))
        ((ms > last)) && last=$ms
    done <<<"$ids"
    echo $((last - ev))
}
# wait_rules_gone SPORT T0_MS WHAT STATE IDS [LIMIT_MS] — both rules of the connection from
# client port SPORT are gone: within LIMIT_MS (2000) of the close reaching the router (its
# conntrack STATE event to the last rule's deletion, close_to_gone_ms); the wall clock from
# T0_MS (the client's exit) through this script's polling is reported and held to 10 s
wait_rules_gone() {
    local sport=$1 t0=$2 what=$3 state=$4 ids=$5 limit=${6:-2000} t1 d
    lab_wait_for 10 no_rule_on_cli "$sport" ||
        lab_fail "$what: the rule of client port $sport is still on $CLI after 10 s"
    t1=$(now_ms)
    lab_assert_eq "$(ours)" 0 "$what: rules with our cookie"
    lab_assert_eq "$(wc -l <<<"$ids")" 2 "$what: rules of the connection before its close"
    d=$(close_to_gone_ms "$sport" "$state" "$ids")
    echo "$what: both rules gone $d ms after conntrack's $state event ($((t1 - t0)) ms after the client's exit, with this script's polling)"
    lab_assert_gt "$limit" "$d" "$what: $limit ms vs time to remove the rules"
}

start_daemon() { # start_daemon [ARGS...] — in the router namespace, until it answers
    ip netns exec "$R" "$BIN" run "$@" >>"$LOG" 2>&1 &
    DPID=$!
    lab_wait_for 90 ctl status >/dev/null 2>&1 || lab_fail "the daemon did not answer"
}

# ---- 1. ready on the embedded defaults
[[ ! -e /etc/nft-tc-offload/nft-tc-offload.conf ]] || lab_fail "a configuration file exists"
start_daemon
s=$(st)
lab_assert_eq "$(jq -r '.flowtables[0].strategy' <<<"$s")" flow "1: the flowtable's strategy"
lab_assert_eq "$(jq -r '.flow.conntrack.timeout_note' <<<"$s")" null "1: no timeout warning"
lab_assert_eq "$(jq -r '[.flowtables[0].devices[].profile] | join(",")' <<<"$s")" \
    generic-flow,generic-flow "1: the profiles of the two veths"
echo "1: ready: $(jq -c '.flowtables[0] | {name, strategy, devices: [.devices[].name]}' <<<"$s")"

# ---- 2. traffic: TCP v4, v6, UDP
# measure LABEL CMD... — one transfer; the carried packets are read after the next stats poll
measure() {
    local label=$1 f0 r0 c0 p0 dr df dc
    shift
    f0=$(fwd) r0=$(rx) c0=$(carried) p0=$(polls)
    "$@" || lab_fail "$label: transfer failed"
    dr=$(($(rx) - r0)) df=$(($(fwd) - f0))
    lab_wait_for 30 status_ge .flow.polls $((p0 + 2)) ||
        lab_fail "$label: no stats poll"
    dc=$(($(carried) - c0))
    echo "$label: router rx $dr packets, carried by our rules $dc ($((dc * 1000 / (dr ? dr : 1)))‰)," \
        "nft forward chain $df ($((df * 1000 / (dr ? dr : 1)))‰)"
    lab_assert_ge $((dc * 100)) $((dr * 95)) "$label: 100 x carried vs 95 x router rx"
    lab_assert_gt $((dr * 5)) $((df * 100)) "$label: 100 x forward-chain packets vs 5 x router rx"
}
# Until both rules are in, the kernel's own software flowtable carries the connection. The time
# from ESTABLISHED to both rules was 3-30 ms in this VM with little traffic (conntrack -E and
# tc monitor timestamps), but ~0.2 s at 10 Mbit/s: iperf3 and the forwarding take the VM's one
# emulated CPU from the daemon (94.5% carried at 10 Mbit/s); 4 Mbit/s leaves it some.
tcp4() { B=$(lab_tcp_transfer -4 -n 6M -b 4M -T 120) && echo "TCP/IPv4: $B bytes" && [[ $B -ge 4000000 ]]; }
tcp6() { B=$(lab_tcp_transfer -6 -n 6M -b 4M -T 120) && echo "TCP/IPv6: $B bytes" && [[ $B -ge 4000000 ]]; }
# 40 s: the UDP flow's rules came ~0.8 s after its first packet when two VMs shared the host's
# 2 CPUs (95.8 % over 20 s); not understood yet why UDP waits longer than TCP
udp4() { conns udp "$S4" 5303 40999 40000 --interval 10; }
lab_tcp_server_start
measure "2a TCP/IPv4" tcp4
measure "2b TCP/IPv6" tcp6
measure "2c UDP/IPv4" udp4

# ---- 3. 60 s through tc only, with a 15 s established timeout; then FIN
# timestamps of the closes (conntrack events) and of the rules' deletions (tc monitor)
ip netns exec "$R" conntrack -E -o timestamp -p tcp >"$W/ev.log" 2>&1 &
MON_PIDS=$!
ip netns exec "$R" tc -ts monitor >"$W/mon.log" 2>&1 &
MON_PIDS="$MON_PIDS $!"
LAB_BG_PIDS="${LAB_BG_PIDS:-} $MON_PIDS"
conns tcp "$S4" 5310 1 41310 --interval 200 --until "$W/stop3" --ready "$W/ready3" >"$W/c3.out" 2>&1 &
C3=$!
lab_wait_for 20 test -e "$W/ready3" || lab_fail "3: the connection to 5310 did not open"
lab_wait_for 20 is_offloaded 41310 ||
    lab_fail "3: the connection from port 41310 was not offloaded"
t3=$(now_ms)
k0=$(lab_nft_counter_packets inet lab c5310)
# the operator's views of it, asserted
fj=$(ctl_j flows | jq '.flows[] | select(.original.sport == 41310)')
lab_assert_eq "$(jq -r '.proto + " " + .tcp_state' <<<"$fj")" "tcp ESTABLISHED" "3: flows: protocol and state"
lab_assert_eq "$(jq '.rules | length' <<<"$fj")" 2 "3: flows: two rules"
lab_assert_eq "$(jq -r '.reply.dst' <<<"$fj")" "$LAB_ROUTER_SERVER_IP4" "3: flows: reply to the masquerade address"
out=$(ctl explain "$C4" "$S4" tcp 41310 5310)
echo "$out"
lab_assert_match "$out" "ESTABLISHED: offloaded: rules on $CLI .* and $SRV" "3: explain"
lab_assert_match "$(ctl explain "$C4" "$S4")" "sport=41310|41310 ->" "3: explain SADDR DADDR lists it"
# two separate reads (the daemon's, then tc's) while step 2c's UDP flow may be idling out:
# they must agree once nothing is in flight
rules_agree() { [[ $(ctl_j rules | jq '.rules | length') == "$(ours)" ]]; }
lab_wait_for 20 rules_agree ||
    lab_fail "3: rules -j vs rules with our cookie: $(ctl_j rules | jq '.rules | length') vs $(ours)"
rj=$(ctl_j rules)
lab_assert_eq "$(jq '[.rules[] | select(.tc | test("src_port 41310"))] | length' <<<"$rj")" 1 \
    "3: rules: the original direction's rule"
m=$(ctl metrics)
lab_assert_eq "$(awk '$1 == "nto_flow_connections{state=\"offloaded\"}" {print $2}' <<<"$m")" \
    "$(offloaded)" "3: metrics offloaded vs status"
lab_assert_match "$m" "# TYPE nto_flow_carried_packets_total counter" "3: metrics TYPE"
echo "3: flows/explain/rules/metrics agree; waiting until 60 s have passed"
while (($(now_ms) - t3 < 60000)); do sleep 2; done
ct=$(lab_conntrack -L -p tcp --sport 41310 2>/dev/null || true)
echo "3: after 60 s: $ct"
lab_assert_match "$ct" "ESTABLISHED" "3: the conntrack entry after 60 s with a 15 s timeout"
k1=$(lab_nft_counter_packets inet lab c5310)
pk=$(ctl_j flows | jq '[.flows[] | select(.original.sport == 41310) | .rules[].packets] | add')
echo "3: rules carried $pk packets in 60 s, the forward chain counted $((k1 - k0)) of port 5310"
lab_assert_ge "$pk" 300 "3: packets carried by the two rules in 60 s"
lab_assert_gt $((pk * 5)) $(((k1 - k0) * 100)) "3: forward-chain packets < 5% of the carried ones"
ids=$(rule_ids 41310)
touch "$W/stop3"
wait "$C3" || lab_fail "3: the connection lost echoes: $(cat "$W/c3.out")"
t0=$(now_ms) # the client has closed its socket (FIN) and exited
echo "3: $(cat "$W/c3.out")"
wait_rules_gone 41310 "$t0" "3: FIN" FIN_WAIT "$ids"

# ---- 4. RST; UDP expiry
conns tcp "$S4" 5301 1 41400 --interval 200 --until "$W/stop4" --close rst --ready "$W/ready4" >"$W/c4.out" 2>&1 &
C4P=$!
lab_wait_for 20 is_offloaded 41400 ||
    lab_fail "4: the connection from port 41400 was not offloaded"
ids=$(rule_ids 41400)
touch "$W/stop4"
wait "$C4P" || true
t0=$(now_ms)
# RST: the entry moves to CLOSE (an UPDATE event) because the daemon clears conntrack's
# MAXACK_SET flag with be_liberal (src/conntrack/nfct.c says why); before that the RST of a
# tc-carried connection only shortened the entry's timeout and the rules went 2.4 s to more
# than 10 s later, with the entry's lazy reaping
wait_rules_gone 41400 "$t0" "4: RST" CLOSE "$ids"
# The monitors are done: in step 8 they printed every one of ~20,000 conntrack events and
# 4,000 filters, a third of the emulated CPU (measured: conntrack -E 22 s, tc monitor 9 s of
# 190 s), which the daemon, the forwarding and the 1,000 connections share.
kill $MON_PIDS 2>/dev/null || true

conns udp "$S4" 5303 41500 3000 --interval 50 >"$W/u4.out" || lab_fail "4: UDP flow: $(cat "$W/u4.out")"
lab_wait_for 10 is_offloaded 41500 ||
    lab_fail "4: the UDP flow from port 41500 was not offloaded"
t0=$(now_ms)
lab_wait_for 60 sh -c "! ip netns exec $R conntrack -L -p udp --sport 41500 2>/dev/null | grep -q 41500" ||
    lab_fail "4: the UDP conntrack entry did not expire within 60 s"
t1=$(now_ms)
lab_wait_for 5 no_rule_on_cli 41500 ||
    lab_fail "4: the UDP flow's rules outlived its conntrack entry by 5 s"
t2=$(now_ms)
echo "4: UDP: conntrack entry gone $((t1 - t0)) ms after the last packet; rules gone $((t2 - t1)) ms later"
lab_assert_eq "$(ours)" 0 "4: rules with our cookie after the UDP flow expired"

# ---- 5. the blocked port
lab_tcp_server_start 5202
B=$(lab_tcp_transfer -4 -p 5202 -t 1 -T 20 2>/dev/null) || B=0
lab_assert_eq "${B:-0}" 0 "5: bytes received through the blocked port 5202"
lab_assert_eq "$(ours)" 0 "5: no rule for the blocked port"
echo "5: TCP to port 5202 still fails"

# ---- 6. a device added to the flowtable takes effect within 2 s
ip link add rt-x netns "$R" type veth peer name rt-x-peer netns "$R"
lab_router ip link set rt-x up
lab_router ip link set rt-x-peer up
t0=$(now_ms)
lab_router nft add flowtable inet lab ft "{ hook ingress priority 0; devices = { rt-x }; }"
lab_wait_for 10 sh -c "ip netns exec $R $BIN status -j | jq -e '[.flowtables[0].devices[].name] | index(\"rt-x\")' >/dev/null" ||
    lab_fail "6: rt-x not in the flowtable after 10 s"
t1=$(now_ms)
t2=$(ctl_j status | jq '.sources.last_replan_unix_ms')
echo "6: rt-x in the daemon's plan $((t2 - t0)) ms after nft add flowtable began (the daemon's" \
    "own clock; $((t1 - t0)) ms with the CLI's polling)"
lab_assert_gt 2000 $((t2 - t0)) "6: 2000 ms vs time until the new device is in the plan"
lab_assert_eq "$(ctl_j status | jq -r '.flowtables[0].devices[] | select(.name == "rt-x") | .profile')" \
    generic-flow "6: rt-x's profile"

# ---- 7. kill -9 and restart: the live connection is adopted
conns tcp "$S4" 5301 1 41700 --interval 200 --until "$W/stop7" --ready "$W/ready7" >"$W/c7.out" 2>&1 &
C7=$!
lab_wait_for 20 is_offloaded 41700 ||
    lab_fail "7: the connection from port 41700 was not offloaded"
h_before=$(lab_router tc -j filter show dev "$CLI" ingress | jq -c '[.[] | select(.options.keys.src_port == 41700) | .options.handle]')
# a ruleset change re-plans: the live connection's rules are kept (adopted), not reinstalled
r0=$(st | jq '.flow.replans')
lab_router nft add table inet lab_replan
lab_wait_for 20 status_ge .flow.replans $((r0 + 1)) || lab_fail "7: no re-plan after nft add table"
h_replan=$(lab_router tc -j filter show dev "$CLI" ingress | jq -c '[.[] | select(.options.keys.src_port == 41700) | .options.handle]')
echo "7: re-plan: $(st | jq -c '.flow | {last_replan_reconcile_ms, last_replan_reconcile}')"
lab_assert_eq "$h_replan" "$h_before" "7: the rule on $CLI kept across the re-plan (same handle)"
lab_assert_ge "$(st | jq '.flow.last_replan_reconcile.adopted')" 2 "7: rules adopted at the re-plan"
lab_assert_eq "$(ours)" 2 "7: rules with our cookie after the re-plan"
# the server port leaves the flowtable: the re-plan deletes the connection's rule there (a
# device the plan dropped) and on the client port (no longer offloadable: its reply enters on
# a device outside the flowtable); the connection goes on in software. Back in: offloaded again.
r0=$(st | jq '.flow.replans')
lab_router nft delete flowtable inet lab ft "{ devices = { $SRV }; }"
lab_wait_for 20 status_ge .flow.replans $((r0 + 1)) || lab_fail "7: no re-plan after $SRV left the flowtable"
echo "7: $SRV out: $(st | jq -c '.flow | {last_replan_reconcile, offloaded}')"
lab_assert_eq "$(ours)" 0 "7: rules with our cookie once $SRV left the flowtable"
lab_assert_eq "$(st | jq '.flow.offloaded')" 0 "7: offloaded connections once $SRV left the flowtable"
lab_router nft add flowtable inet lab ft "{ hook ingress priority 0; devices = { $SRV }; }"
lab_wait_for 20 is_offloaded 41700 || lab_fail "7: not offloaded again once $SRV is back"
lab_assert_eq "$(ours)" 2 "7: rules with our cookie once $SRV is back"
h_before=$(lab_router tc -j filter show dev "$CLI" ingress | jq -c '[.[] | select(.options.keys.src_port == 41700) | .options.handle]')
kill -9 "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=
lab_assert_eq "$(ours)" 2 "7: the two rules stay after kill -9"
start_daemon
lab_wait_for 20 is_offloaded 41700 ||
    lab_fail "7: the connection is not offloaded after the restart"
lab_assert_eq "$(ours)" 2 "7: rules with our cookie after the restart (no orphan, no duplicate)"
h_after=$(lab_router tc -j filter show dev "$CLI" ingress | jq -c '[.[] | select(.options.keys.src_port == 41700) | .options.handle]')
echo "7: handles before $h_before, after $h_after; start-up reconcile: $(st | jq -c '.flow.startup_reconcile')"
if [[ $h_after != "$h_before" ]]; then
    # what replaced the adopted rules (seen once in CI, under load: handles [1] -> [5])
    st | jq -c '.flow | {reresolves, path_changes, polls, pending_max, conntrack: (.conntrack | {events, dumps, resyncs, swept})}' >&2 || true
    lab_router tc -s -j filter show dev "$CLI" ingress | jq -c '[.[] | select(.options.keys.src_port == 41700) | {handle: .options.handle, pkts: .options.actions[0].stats.packets}]' >&2 || true
fi
lab_assert_eq "$h_after" "$h_before" "7: the rule on $CLI adopted (same handle)"
lab_assert_ge "$(st | jq '.flow.startup_reconcile.adopted')" 1 "7: connections adopted at the restart"
touch "$W/stop7"
wait "$C7" || lab_fail "7: echoes lost across the restart: $(cat "$W/c7.out")"
echo "7: $(cat "$W/c7.out") across kill -9 and restart"

# ---- 8. 1,000 concurrent connections
t0=$(now_ms)
conns tcp "$S4" 5301 1000 20000 --interval 2000 --until "$W/stop8" --ready "$W/ready8" >"$W/c8.out" 2>&1 &
C8=$!
lab_wait_for 120 test -e "$W/ready8" || lab_fail "8: 1,000 connections did not open: $(cat "$W/c8.out")"
lab_wait_for 120 status_ge .flow.offloaded 1000 ||
    lab_fail "8: offloaded: $(offloaded) of 1000; status: $(st | jq -c .flow)"
t1=$(now_ms)
echo "8: $(st | jq -c '.flow | {install_latency, polls, pending_max, conntrack: (.conntrack | {events, overruns, resyncs, refresh_ok, refresh_errors}), destroyed: .flowtables[0].events_destroy}')"
n=$(ours)
echo "8: 1,000 connections offloaded $((t1 - t0)) ms after the first connect; $n rules"
lab_assert_eq "$n" 2000 "8: rules for 1,000 connections"
sleep 4 # two more echo rounds through the rules
touch "$W/stop8"
wait "$C8" || lab_fail "8: echoes lost: $(cat "$W/c8.out")"
echo "8: $(cat "$W/c8.out")"
t0=$(now_ms)
lab_wait_for 60 status_eq .flow.offloaded 0 ||
    lab_fail "8: still offloaded after the close: $(offloaded)"
lab_assert_eq "$(ours)" 0 "8: rules left after 1,000 connections closed"
echo "8: all 2000 rules gone $(($(now_ms) - t0)) ms after the close"

# ---- 9. SIGTERM
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
DPID=
lab_assert_eq "$rc" 0 "9: exit status after SIGTERM"
lab_assert_eq "$(ours)" 0 "9: rules with our cookie after SIGTERM"
B=$(lab_tcp_transfer -4 -n 2M -b 20M -T 60) || lab_fail "9: no traffic after stop"
echo "9: after stop: $B bytes through the stack"

# ---- 10. capacity: a profile of 200 rules = 100 connections
mkdir -p "$W/profiles"
sed -e 's/^capacity = .*/capacity = 200/' "${NTO_SOURCE_DIR:-.}/profiles/generic-flow.conf" >"$W/profiles/generic-flow.conf"
cat >"$W/nto.conf" <<EOF
[daemon]
profile_dir = $W/profiles
EOF
lab_router sysctl -qw net.netfilter.nf_flowtable_tcp_timeout=30
start_daemon --config "$W/nto.conf"
lab_assert_eq "$(ctl_j status | jq '.flow.capacity')" 100 "10: capacity in connections"
note=$(ctl_j status | jq -r '.flow.conntrack.timeout_note')
echo "10: with nf_flowtable_tcp_timeout = 30 s: $note"
lab_assert_match "$note" "nf_conntrack_tcp_timeout_established \(15 s\) <= nf_flowtable_tcp_timeout \(30 s\)" \
    "10: the daemon's warning about the flowtable timeout"
conns tcp "$S4" 5301 200 30000 --interval 1000 --until "$W/stop10" --ready "$W/ready10" >"$W/c10.out" 2>&1 &
C10=$!
lab_wait_for 60 test -e "$W/ready10" || lab_fail "10: 200 connections did not open"
lab_wait_for 60 status_ge .flow.tracked 200 ||
    lab_fail "10: tracked: $(ctl_j status | jq '.flow.tracked') of 200"
sleep 6 # a stats interval: nothing more may be admitted
s=$(st)
echo "10: $(jq -c '.flow | {tracked, offloaded, in_software, in_software_by_reason, capacity}' <<<"$s")"
lab_assert_eq "$(jq '.flow.offloaded' <<<"$s")" 100 "10: offloaded of 200 with capacity 100"
lab_assert_eq "$(jq '.flow.in_software_by_reason["table-full"]' <<<"$s")" 100 "10: in software, table-full"
lab_assert_eq "$(ours)" 200 "10: rules installed"
sport=$(ctl_j flows | jq -r '[.flows[] | select(.reason == "table-full") | .original.sport] | first')
lab_assert_match "$(ctl explain "$C4" "$S4" tcp "$sport" 5301)" "table full" "10: explain of a refused one"
touch "$W/stop10"
wait "$C10" || lab_fail "10: echoes lost: $(cat "$W/c10.out")"
echo "10: $(cat "$W/c10.out") (200 connections, 100 in tc, 100 in the stack)"
kill -TERM "$DPID"
wait "$DPID" || lab_fail "10: exit status after SIGTERM"
DPID=
lab_assert_eq "$(ours)" 0 "10: rules after stop"
echo PASS
