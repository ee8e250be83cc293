#!/bin/bash
# lab.daemon_lifecycle — restart safety and reloads of `nft-tc-offload run` (source = an nft
# file, ct strategy, generic-ct forced by [device NAME] sections):
#
#  1. a bad configuration file: the daemon exits non-zero with FILE:LINE, nothing in the kernel
#     changed (the filters of both router ports are byte-identical before and after).
#  2. start; kill -9; our rules stay. An orphan of ours (our cookie on a rule no plan makes) and
#     a duplicate of one of our chain-0 rules (flower refuses the same key twice in one prio,
#     so at another prio) are added by hand. Restart: the rules that match the plan
#     are adopted (same handles), the orphan and the duplicate are deleted: zero orphans, zero
#     duplicates; an operator's filter is untouched throughout.
#  3. SIGHUP with a changed ruleset file (one more exclusion): only the difference is applied
#     (chain-1 handles unchanged; the sync adds the new pass rules).
#  4. SIGHUP with a broken configuration: the daemon keeps running with the old one, says why
#     (status: last_error with FILE:LINE), and its rules stay.
#  5. traffic is still offloaded; SIGTERM removes every rule of ours.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 60 KILL; lab_teardown' EXIT
lab_require_cmd jq tc nft

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
COOKIE=6e746f01
SOCK=/tmp/nto-lc.sock
CONF=/tmp/nto-lc.conf
RULES=/tmp/nto-lc.nft
LOG=/tmp/nto-lc.log
DPID=

lab_modprobe cls_flower act_ct act_gact act_pedit act_csum act_mirred
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV

write_rules() { # write_rules [EXTRA-RULE] — the ruleset file the daemon reads (and nft loads)
    cat >"$RULES" <<EOF
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
        ${1:-}
        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF
}
write_rules
lab_nft_load "$RULES"

cat >"$CONF" <<EOF
[daemon]
source = $RULES
control_socket = $SOCK
log_level = debug

[device $CLI]
profile = generic-ct

[device $SRV]
profile = generic-ct
EOF

ctl_j() { lab_router "$BIN" "$1" -j --socket "$SOCK" "${@:2}"; }
shows() { lab_shows "$@"; }
ours() { lab_tc_cookie_filters "$LAB_NS_ROUTER" "$COOKIE" "$CLI" "$SRV"; } # ours on both ports
filters() { # every filter of both ports (ingress and egress), for before/after comparisons
    local d
    for d in "$CLI" "$SRV"; do
        lab_router tc filter show dev "$d" ingress
        lab_router tc filter show dev "$d" egress
    done
}
ids() { # "dev chain pref handle" of every flower filter with our cookie, sorted
    local d
    for d in "$CLI" "$SRV"; do
        lab_router tc -j filter show dev "$d" ingress |
            jq -r --arg d "$d" '.[] | select(.options.handle != null)
              | select([.options.actions[]?.cookie // ""] | any(startswith("'$COOKIE'")))
              | "\($d) \(.chain) \(.pref) \(.options.handle)"'
    done | sort
}
start_daemon() {
    # not through the lab_router function: $! must be the daemon itself (ip netns exec execs it)
ip netns exec "$LAB_NS_ROUTER" "$BIN" run --config "$CONF" >>"$LOG" 2>&1 &
    DPID=$!
    lab_wait_for 90 lab_router "$BIN" status --socket "$SOCK" ||
        lab_fail "the daemon did not answer on $SOCK"
    lab_assert_eq "$(ctl_j status | jq .pid)" "$DPID" "the pid the daemon reports"
}

# an operator's filter: must survive everything below
lab_assert lab_router tc qdisc add dev "$SRV" clsact
lab_assert lab_router tc filter add dev "$SRV" ingress chain 0 pref 5 protocol ip \
    flower ip_proto icmp action pass

# ---- 1. a bad configuration
before=$(filters)
cat >/tmp/nto-bad.conf <<EOF
[daemon]
source = $RULES
control_socket = $SOCK

debounce_ms = soon
EOF
rc=0
out=$(lab_router "$BIN" run --config /tmp/nto-bad.conf 2>&1) || rc=$?
echo "1: bad config: exit $rc: $out"
lab_assert_gt "$rc" 0 "1: exit status with a bad config"
lab_assert_match "$out" "/tmp/nto-bad.conf:5: error: debounce_ms" "1: FILE:LINE message"
lab_assert_eq "$(filters)" "$before" "1: filters after the failed start"
[[ ! -e $SOCK ]] || lab_fail "1: a control socket was created"

# ---- 2. kill -9, orphans, restart adoption
start_daemon
ids1=$(ids)
n1=$(ours)
echo "2: started: $n1 rules of ours"
lab_assert_gt "$n1" 0 "2: rules after start"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=
lab_assert_eq "$(ours)" "$n1" "2: rules of ours after kill -9 (left in place)"
# an orphan: our cookie on a rule no plan makes (chain 1, a prio out of the plan's bands)
lab_assert lab_router tc filter add dev "$CLI" ingress chain 1 pref 9999 protocol ip \
    flower ip_proto udp dst_port 9 action pass cookie "${COOKIE}000000000000000000000000"
# a duplicate of one of our chain-0 rules (same match and cookie; flower refuses the same key
# twice in one prio ("File exists"), so at a prio of our range the plan does not use)
dup=$(lab_router tc -j filter show dev "$CLI" ingress chain 0 |
    jq -r '[.[] | select(.options.handle != null) | select(.options.keys.ip_proto == "tcp")
            | select(.options.keys.ct_state != null)][0] | "\(.pref) \(.protocol)"')
read -r dpref dproto <<<"$dup"
dcookie=$(lab_router tc -j filter show dev "$CLI" ingress chain 0 pref "$dpref" |
    jq -r '[.[] | .options.actions[0].cookie // empty][0]')
lab_assert_match "$dcookie" "^$COOKIE" "2: the cookie of the rule to duplicate"
lab_assert lab_router tc filter add dev "$CLI" ingress chain 0 pref 4500 protocol "$dproto" \
    handle 0x77 flower ip_proto tcp ct_state -trk action ct nat pipe cookie "$dcookie" \
    action goto chain 1 cookie "$dcookie"
echo "2: orphan on chain 1 pref 9999 and a duplicate of pref $dpref at chain 0 pref 4500 added"
lab_assert_eq "$(ours)" $((n1 + 2)) "2: rules of ours with the orphan and the duplicate"
start_daemon
st=$(ctl_j status)
echo "2: restarted: last sync $(jq -c '.ct.last_sync' <<<"$st")"
lab_assert_eq "$(ours)" "$n1" "2: rules of ours after the restart (zero orphans, zero duplicates)"
# (the filters themselves, not last_sync: a neighbour change may have synced again since)
lab_assert_eq "$(ids)" "$ids1" "2: the adopted rules are the very same filters (handles)"
shows "pref 5 " lab_router tc filter show dev "$SRV" ingress chain 0 ||
    lab_fail "2: the operator's filter is gone"

# ---- 3. SIGHUP with a changed ruleset: only the difference
h1=$(ids | awk '$2 == 1')
h0=$(ids | awk '$2 == 0')
write_rules "udp dport 5300 accept"
{ echo "flush ruleset"; cat "$RULES"; } >/tmp/nto-lc-reload.nft
lab_nft_load /tmp/nto-lc-reload.nft
kill -HUP "$DPID"
lab_wait_for 30 sh -c "[ \$(ip netns exec $R $BIN status -j --socket $SOCK | jq .reloads) -ge 1 ]" ||
    lab_fail "3: no reload within 30 s"
lab_wait_for 30 shows "dst_port 5300" lab_router tc filter show dev "$CLI" ingress chain 0 ||
    lab_fail "3: no chain-0 pass rule for udp dport 5300"
st=$(ctl_j status)
echo "3: reloaded: last sync $(jq -c '.ct.last_sync' <<<"$st")"
lab_assert_eq "$(ids | awk '$2 == 1')" "$h1" "3: chain-1 filters after the reload (handles)"
# (not last_sync: a neighbour state change may have synced again since, with nothing to do;
# chain 0 gets new prios after the inserted exclusion: more filters, some replaced)
h0b=$(ids | awk '$2 == 0')
lab_assert_gt "$(wc -l <<<"$h0b")" "$(wc -l <<<"$h0")" "3: chain-0 filters after the reload (the new exclusion's added)"
shows "dst_port 5300" lab_router tc filter show dev "$CLI" ingress chain 0 ||
    lab_fail "3: no chain-0 pass rule for udp dport 5300"

# ---- 4. SIGHUP with a broken configuration
n3=$(ours)
ids3=$(ids)
cp "$CONF" /tmp/nto-lc.good
printf '[daemon]\nsource = %s\ncontrol_socket = %s\non_stop = sometimes\n' "$RULES" "$SOCK" >"$CONF"
kill -HUP "$DPID"
lab_wait_for 30 sh -c "[ \$(ip netns exec $R $BIN status -j --socket $SOCK | jq .reload_failures) -ge 1 ]" ||
    lab_fail "4: the failed reload was not reported"
err=$(ctl_j status | jq -r '.last_error')
echo "4: $err"
lab_assert_match "$err" "$CONF:4: error: on_stop" "4: the reason, with FILE:LINE"
lab_assert_eq "$(ids)" "$ids3" "4: rules after the failed reload"
cp /tmp/nto-lc.good "$CONF"

# ---- 5. traffic, then SIGTERM
f0=$(lab_nft_counter_packets inet lab seen)
m0=$(lab_tc_action_packets "$R" "$CLI" ingress 1 mirred)
B=$(lab_tcp_transfer -4 -n 3M -b 20M -T 90) || lab_fail "5: transfer failed"
m1=$(lab_tc_action_packets "$R" "$CLI" ingress 1 mirred)
f1=$(lab_nft_counter_packets inet lab seen)
echo "5: $B bytes; redirected on $CLI chain 1: $((m1 - m0)); forward chain: $((f1 - f0))"
lab_assert_gt $((m1 - m0)) 1000 "5: packets redirected on $CLI"
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
DPID=
lab_assert_eq "$rc" 0 "5: exit status after SIGTERM"
lab_assert_eq "$(ours)" 0 "5: rules of ours after SIGTERM"
shows "pref 5 " lab_router tc filter show dev "$SRV" ingress chain 0 ||
    lab_fail "5: the operator's filter is gone"
echo PASS
