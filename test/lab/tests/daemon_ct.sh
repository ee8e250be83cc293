#!/bin/bash
# lab.daemon_ct — `nft-tc-offload run` (source = kernel) with the ct strategy carries the
# router's traffic in tc, follows neighbour and ruleset changes, and removes its rules on stop.
#
# The router's ruleset: a software flowtable (no `flags offload`) on both router ports,
# `meta l4proto { tcp, udp } flow add @ft`, masquerade towards the server, and TCP to port
# 5202 dropped in the forward chain (before `flow add`: an exclusion). The daemon runs in the
# router namespace with generic-ct forced on both veths by [device NAME] sections.
#
#  1. ready: `status` answers over the control socket; chain 0 and chain 1 are installed.
#  2. a rate-limited TCP transfer (IPv4, then IPv6) and a UDP flow: the tc chain-1 redirects
#     count >= 95% of the packets the router received, the nft forward chain < 5%.
#  3. TCP to the blocked port still fails.
#  4. the server's MAC changes during a transfer (the router's neighbour entries with it):
#     chain 1 follows (the rules towards the server carry the new MAC), the transfer completes.
#  5. live following: an nft rule added to the running ruleset (a new exclusion) is applied
#     within ~1 s, and only the difference: chain-1 rules keep their handles.
#  6. status / flows / explain (one connection, or what conntrack has between two hosts) /
#     rules (== tc's view) / metrics (== status).
#  7. SIGTERM: every rule with our cookie is gone, an operator's own filter stays, and traffic
#     still flows through the stack.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 60; lab_teardown' EXIT
lab_require_cmd iperf3 jq tc nft

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
COOKIE=6e746f01 # "nto" + version 1: the start of every cookie of ours
SOCK=/tmp/nto-ct.sock
CONF=/tmp/nto-ct.conf
LOG=/tmp/nto-ct.log
DPID=

lab_modprobe cls_flower act_ct act_gact act_pedit act_csum act_mirred nf_flow_table \
    nf_flow_table_inet nft_flow_offload
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV

lab_nft_load <<EOF
table inet lab {
    counter seen { }
    flowtable ft {
        hook ingress priority 0
        devices = { $CLI, $SRV }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        counter name "seen"
        tcp dport 5202 drop
        meta l4proto { tcp, udp } flow add @ft
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$SRV" masquerade
    }
}
EOF

# an operator's own filter, which the daemon must never touch
lab_assert lab_router tc qdisc add dev "$CLI" clsact
lab_assert lab_router tc filter add dev "$CLI" ingress chain 7 pref 77 protocol ip \
    flower ip_proto icmp action pass

cat >"$CONF" <<EOF
[daemon]
source = kernel
control_socket = $SOCK
log_level = debug
debounce_ms = 300

[device $CLI]
profile = generic-ct

[device $SRV]
profile = generic-ct
EOF

ctl() { lab_router "$BIN" "$1" --socket "$SOCK" "${@:2}"; }
ctl_j() { lab_router "$BIN" "$1" -j --socket "$SOCK" "${@:2}"; }
shows() { lab_shows "$@"; }
ours() { lab_tc_cookie_filters "$LAB_NS_ROUTER" "$COOKIE" "$CLI" "$SRV"; } # ours on both ports
fwd() { lab_nft_counter_packets inet lab seen; }
rx() { echo $(($(lab_dev_rx_packets "$R" "$CLI") + $(lab_dev_rx_packets "$R" "$SRV"))); }
redirected() {
    echo $(($(lab_tc_action_packets "$R" "$CLI" ingress 1 mirred) +
        $(lab_tc_action_packets "$R" "$SRV" ingress 1 mirred)))
}
handles1() { # chain-1 handles of both ports, sorted
    local d
    for d in "$CLI" "$SRV"; do
        lab_router tc -j filter show dev "$d" ingress chain 1 |
            jq -r --arg d "$d" '.[] | select(.options.handle != null) | "\($d) \(.pref) \(.options.handle)"'
    done | sort
}

# ---- 1. start and wait until ready
# not through the lab_router function: $! must be the daemon itself (ip netns exec execs it)
ip netns exec "$LAB_NS_ROUTER" "$BIN" run --config "$CONF" >"$LOG" 2>&1 &
DPID=$!
lab_wait_for 90 ctl status || lab_fail "the daemon did not answer on $SOCK"
st=$(ctl_j status)
lab_assert_eq "$(jq '.pid' <<<"$st")" "$DPID" "1: the pid the daemon reports"
c0=$(jq '.ct.rules_chain0' <<<"$st")
c1=$(jq '.ct.rules_chain1' <<<"$st")
echo "1: ready: chain 0 $c0 rules, chain 1 $c1 rules"
# chain 0 per port: 2 exclusion pass rules (tcp dport 5202 and its reply) x 2 families +
# 4 ct rules; chain 1 per port: 2 guards + (tcp, udp) x (v4, v6) towards the other side
lab_assert_gt "$c0" 0 "chain-0 rules"
lab_assert_gt "$c1" 0 "chain-1 rules"
lab_assert_eq "$(ours)" $((c0 + c1)) "rules with our cookie in the kernel"
lab_assert_eq "$(jq -r '.flowtables[0].devices[0].profile' <<<"$st")" generic-ct "profile"
lab_router tc filter show dev "$CLI" ingress chain 0 | grep -E '^filter' | head -20

# ---- 2. traffic
# measure LABEL CMD... — runs one transfer; sets D_RX, D_RED, D_FWD
measure() {
    local label=$1 f0 r0 m0
    shift
    f0=$(fwd)
    r0=$(rx)
    m0=$(redirected)
    "$@" || lab_fail "$label: transfer failed"
    D_FWD=$(($(fwd) - f0))
    D_RX=$(($(rx) - r0))
    D_RED=$(($(redirected) - m0))
    echo "$label: router rx $D_RX packets, redirected by tc chain 1 $D_RED" \
        "($((D_RED * 1000 / (D_RX ? D_RX : 1)))‰), nft forward chain $D_FWD" \
        "($((D_FWD * 1000 / (D_RX ? D_RX : 1)))‰)"
    lab_assert_ge $((D_RED * 100)) $((D_RX * 95)) "$label: 100 x redirected vs 95 x router rx"
    lab_assert_gt $((D_RX * 5)) $((D_FWD * 100)) "$label: 100 x forward-chain packets vs 5 x router rx"
}
# (iperf3 -n counts bytes sent; the server's report may end a little earlier)
tcp4() { B=$(lab_tcp_transfer -4 -n 8M -b 20M -T 120) && echo "TCP/IPv4: $B bytes" && [[ $B -ge 5000000 ]]; }
tcp6() { B=$(lab_tcp_transfer -6 -n 8M -b 20M -T 120) && echo "TCP/IPv6: $B bytes" && [[ $B -ge 5000000 ]]; }
udp4() {
    local rep
    rep=$(timeout -k 5 60 ip netns exec "$LAB_NS_CLIENT" iperf3 -c "$LAB_SERVER_IP4" \
        -p "$LAB_TCP_PORT" -u -b 8M -t 4 -l 1200 -J --connect-timeout 5000) || return 1
    B=$(jq '.end.sum.bytes // 0' <<<"$rep")
    echo "UDP/IPv4: $B bytes sent, lost $(jq '.end.sum.lost_percent // 0' <<<"$rep")%"
    [[ $B -ge 2000000 ]]
}
lab_tcp_server_start
measure "2a TCP/IPv4" tcp4
measure "2b TCP/IPv6" tcp6
measure "2c UDP/IPv4" udp4

# ---- 3. the blocked port
lab_tcp_server_start 5202
# (iperf3 -J may exit 0 after a failed connect: look at the bytes the server received)
B=$(lab_tcp_transfer -4 -p 5202 -t 1 -T 20 2>/dev/null) || B=0
lab_assert_eq "${B:-0}" 0 "3: bytes received through the blocked port 5202"
echo "3: TCP to port 5202 still fails"

# ---- 4. the server's MAC changes during a transfer
newmac=02:00:00:00:bb:02
lab_tcp_transfer_bg -4 -t 8 -b 10M -T 120
sleep 2
lab_assert lab_server ip link set dev "$LAB_SERVER_DEV" address "$newmac"
lab_assert lab_router ip neigh replace "$LAB_SERVER_IP4" lladdr "$newmac" dev "$SRV" nud reachable
lab_assert lab_router ip neigh replace "$LAB_SERVER_IP6" lladdr "$newmac" dev "$SRV" nud reachable
lab_bg_wait || lab_fail "4: the transfer across the MAC change failed"
echo "4: transfer across the MAC change: $LAB_BG_BYTES bytes"
lab_assert_gt "$LAB_BG_BYTES" 4000000 "4: bytes across the MAC change"
n_new=$(ctl_j status | jq '.ct.last_sync.changed')
echo "4: last sync changed $n_new rules"
# 4 rules towards the server on rt-cli (v4/v6 x tcp/udp) now rewrite to the new MAC
# pedit shows the MAC as raw keys: eth+0 val 02000000 (the first 4 bytes of 02:00:00:00:bb:02)
n_mac=$(lab_router tc filter show dev "$CLI" ingress chain 1 | grep -c "val 02000000" || true)
echo "4: chain-1 pedit keys on $CLI with the new MAC: $n_mac"
lab_assert_ge "$n_mac" 4 "4: rules on $CLI towards the server with the new MAC"
measure "4b TCP/IPv4 after the MAC change" tcp4

# ---- 5. live following: a new exclusion, applied within a second, only the difference
h_before=$(handles1)
c0_before=$(ctl_j status | jq '.ct.rules_chain0')
t0=$(date +%s%N)
lab_assert lab_router nft insert rule inet lab forward udp dport 5300 accept
lab_wait_for 10 sh -c "[ \$(ip netns exec $R $BIN status -j --socket $SOCK | jq '.ct.rules_chain0') -gt $c0_before ]" ||
    lab_fail "5: the new exclusion was not applied within 10 s"
t1=$(date +%s%N)
st=$(ctl_j status)
echo "5: exclusion applied after $(((t1 - t0) / 1000000)) ms (debounce 300 ms; includes CLI polling):" \
    "chain 0 $c0_before -> $(jq '.ct.rules_chain0' <<<"$st"), last sync $(jq -c '.ct.last_sync' <<<"$st")"
lab_assert_eq "$(handles1)" "$h_before" "5: chain-1 handles (unchanged rules must not be touched)"
shows "dst_port 5300" lab_router tc filter show dev "$CLI" ingress chain 0 ||
    lab_fail "5: no chain-0 pass rule for udp dport 5300"

# ---- 6. status / flows / explain / rules / metrics
ctl status
ctl flows >/dev/null || lab_fail "6: flows"
ctl_j flows | jq -e '.flows | type == "array"' >/dev/null || lab_fail "6: flows -j"
out=$(ctl explain "$LAB_CLIENT_IP4" "$LAB_SERVER_IP4" tcp 40000 "$LAB_TCP_PORT")
echo "$out"
lab_assert_match "$out" "offloaded: established packets of both directions" "6: explain (offloaded)"
out=$(ctl explain "$LAB_CLIENT_IP4" "$LAB_SERVER_IP4" tcp 40000 5202)
echo "$out"
lab_assert_match "$out" "stays in software: excluded by the rule" "6: explain (blocked port)"
ctl_j explain "$LAB_CLIENT_IP6" "$LAB_SERVER_IP6" udp 1000 53 | jq -e '.offloaded == true' >/dev/null ||
    lab_fail "6: explain -j (udp/ipv6)"
if ctl explain 1.2.3.4 >/dev/null 2>&1; then lab_fail "6: a malformed explain succeeded"; fi
# without ports: the live connections between the two hosts, from the conntrack table
lab_tcp_transfer_bg -4 -t 20 -b 2M -T 90
lab_wait_for 60 sh -c "[ \$(ip netns exec $LAB_NS_CLIENT ss -Htn state established dport = :$LAB_TCP_PORT | wc -l) -ge 2 ]" || {
    lab_conntrack -L -p tcp >&2 || true
    lab_fail "6: the iperf3 connections did not open"
}
sleep 1
out=$(ctl explain "$LAB_CLIENT_IP4" "$LAB_SERVER_IP4")
head -n 12 <<<"$out"
# (act_ct's flowtable holds it: conntrack shows [OFFLOAD] and no TCP state)
lab_assert_match "$out" "connection tcp .*dport=$LAB_TCP_PORT .*\[OFFLOAD\]" "6: explain SADDR DADDR lists the connection"
lab_assert_match "$out" "offloaded: established packets of both directions" "6: explain SADDR DADDR"
ctl_j explain "$LAB_CLIENT_IP4" "$LAB_SERVER_IP4" tcp | jq -e '.offloaded == true' >/dev/null ||
    lab_fail "6: explain SADDR DADDR tcp -j"
lab_bg_wait || lab_fail "6: the transfer under explain failed"
# rules: exactly the rules with our cookie, their counters equal to tc's own
rj=$(ctl_j rules)
lab_assert_eq "$(jq '.rules | length' <<<"$rj")" "$(ours)" "6: rules listed vs rules with our cookie"
lab_assert_ge "$(jq '.others' <<<"$rj")" 1 "6: the operator's filter counted as someone else's"
red=$(jq '[.rules[] | select(.chain == 1 and (.tc | test("mirred"))) | .packets] | add' <<<"$rj")
lab_assert_eq "$red" "$(redirected)" "6: chain-1 packets by rules -j vs tc -s"
ctl rules | grep -E '^filter add dev' | sed -n '1,3p'
lab_assert_match "$(ctl rules | tail -1)" "rules of ours on 2 devices" "6: rules summary line"
# metrics: Prometheus text, numbers equal to status
m=$(ctl metrics)
st=$(ctl_j status)
lab_assert_match "$m" "# TYPE nto_ct_rules gauge" "6: metrics TYPE line"
lab_assert_eq "$(awk '$1 == "nto_ct_rules{chain=\"1\"}" {print $2}' <<<"$m")" \
    "$(jq '.ct.rules_chain1' <<<"$st")" "6: nto_ct_rules chain 1 vs status"
lab_assert_eq "$(awk '$1 == "nto_up" {print $2}' <<<"$m")" 1 "6: nto_up"
lab_assert_eq "$(grep -c '^nto_device_info{' <<<"$m")" 2 "6: nto_device_info series"
echo "6: metrics: $(grep -vc '^#' <<<"$m") samples"

# ---- 7. SIGTERM removes our rules, and only ours
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
DPID=
lab_assert_eq "$rc" 0 "7: exit status after SIGTERM"
lab_assert_eq "$(ours)" 0 "7: rules with our cookie after SIGTERM"
shows "pref 77" lab_router tc filter show dev "$CLI" ingress chain 7 ||
    lab_fail "7: the operator's own filter is gone"
[[ ! -e $SOCK ]] || lab_fail "7: the control socket is still there"
B=$(lab_tcp_transfer -4 -n 2M -b 20M -T 60) || lab_fail "7: no traffic after stop"
echo "7: after stop: $B bytes through the stack"
grep -E 'removed [0-9]+ rules' "$LOG"
echo PASS
