#!/bin/bash
# lab.faults — the daemon (ct strategy, source = kernel, generic-ct forced by [device NAME]
# sections) under faults from outside:
#  1. start on three router ports: rt-cli, rt-srv and rt-ex (a third veth, 10.0.3.1/24).
#  2. rt-ex is deleted while its rules are installed: the daemon stays up and answers, its
#     rules on rt-ex are gone with the device, status counts exactly the rules of ours left in
#     the kernel, and the rules on rt-cli and rt-srv are the very same filters (handles) as
#     before, except chain-1 rules that redirected to rt-ex.
#  3. `conntrack -F` in the router during an offloaded transfer: the right outcome for the ct
#     strategy is that the daemon does nothing (its rules are static; act_ct keeps the
#     connections in conntrack, and the stack picks the flushed connection up again): every
#     filter the same, the transfer completes, a new transfer is >= 95% redirected by chain 1.
#  4. a ruleset of ~500 rules; the daemon is killed with SIGKILL while it installs them
#     (adaptive delay until the kill lands between zero and all of its rules; if no attempt
#     does, half of a complete install is deleted by hand to leave the same kind of partial
#     state) and restarted: it converges to exactly the filters of a clean start (same
#     devices, chains, prios, protocols, matches), zero orphans, zero duplicates (the same
#     match twice on one device and chain).
#  5. SIGTERM removes every rule of ours.
#  6. the flow strategy (no [device] sections: veth is generic-flow): NTO_FAULTS_CONNS (600)
#     TCP connections opened one after another, the daemon installing two rules for each as
#     they establish; the tc filter count of rt-cli is polled and the daemon SIGKILLed as soon
#     as it is above zero and below the final count (a real kill in the middle of the installs);
#     restart: every connection offloaded, the rules of ours in the kernel are exactly the
#     rules the new run owns (device and handle, from `flows`): zero orphans, none missing,
#     zero duplicates (same device and match twice), two per connection, and every echo of
#     the connections came back across the kill.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 60 KILL; lab_teardown' EXIT
lab_require_cmd iperf3 jq tc nft conntrack

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
CONNS=${NTO_CONNS:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/lab/tools/conns}
[[ -x $CONNS ]] || lab_fail "conns not built: $CONNS"
NK=${NTO_FAULTS_CONNS:-600}
COOKIE=6e746f01
SOCK=/tmp/nto-f.sock
CONF=/tmp/nto-f.conf
LOG=/tmp/nto-f.log
DPID=

lab_modprobe cls_flower act_ct act_gact act_pedit act_csum act_mirred nf_flow_table \
    nf_flow_table_inet nft_flow_offload
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV
EX=rt-ex
lab_assert ip -n "$R" link add "$EX" type veth peer name ex0
lab_assert ip -n "$R" addr add 10.0.3.1/24 dev "$EX"
lab_assert ip -n "$R" addr add fd00:3::1/64 dev "$EX" nodad
lab_assert ip -n "$R" link set ex0 up
lab_assert ip -n "$R" link set "$EX" up

ruleset() { # ruleset DEVICES [EXCLUSIONS] — the router's ruleset
    local excl='' p
    for ((p = 6000; p < 6000 + ${2:-0}; p++)); do excl+="        tcp dport $p accept"$'\n'; done
    cat <<EOF
flush ruleset
table inet lab {
    flowtable ft {
        hook ingress priority 0
        devices = { $1 }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        tcp dport 5202 drop
$excl        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF
}
ruleset "$CLI, $SRV, $EX" | lab_nft_load

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

[device $EX]
profile = generic-ct
EOF

ctl_j() { lab_router "$BIN" "$1" -j --socket "$SOCK" "${@:2}"; }
ours() { lab_tc_cookie_filters "$R" "$COOKIE" "$@"; }
in_status() { # rules of ours status counts
    local st
    st=$(ctl_j status)
    echo $(($(jq .ct.rules_chain0 <<<"$st") + $(jq .ct.rules_chain1 <<<"$st")))
}
# ids DEV... — "dev chain pref protocol handle to_dev" of every filter of ours, sorted
ids() {
    local d
    for d in "$@"; do
        lab_router tc -j filter show dev "$d" ingress |
            jq -r --arg d "$d" --arg c "$COOKIE" '.[] | select(.options.handle != null)
              | select([.options.actions[]?.cookie // ""] | any(startswith($c)))
              | "\($d) \(.chain) \(.pref) \(.protocol) \(.options.handle) \([.options.actions[]?.to_dev // empty] | join(","))"'
    done | sort
}
shape() { # shape DEV... — "dev chain pref protocol match" of every filter of ours, sorted
    local d
    for d in "$@"; do
        lab_router tc -j filter show dev "$d" ingress |
            jq -r --arg d "$d" --arg c "$COOKIE" '.[] | select(.options.handle != null)
              | select([.options.actions[]?.cookie // ""] | any(startswith($c)))
              | "\($d) \(.chain) \(.pref) \(.protocol) \(.options.keys // {} | tojson)"'
    done | sort
}
# dups SHAPE — filters of ours with the same device, chain, protocol and match at another prio
dups() { awk '{ $3 = ""; print }' <<<"$1" | sort | uniq -d | grep -c . || true; }
start_daemon() {
    # not through lab_router: $! must be the daemon itself (ip netns exec execs it)
    ip netns exec "$R" "$BIN" run --config "$CONF" >>"$LOG" 2>&1 &
    DPID=$!
}
wait_ready() {
    lab_wait_for "${1:-90}" lab_router "$BIN" status --socket "$SOCK" ||
        lab_fail "the daemon did not answer on $SOCK"
    lab_assert_eq "$(ctl_j status --timeout 60 | jq .pid)" "$DPID" "the pid the daemon reports"
}
stop_daemon() { # SIGTERM; exit 0 and nothing of ours left
    kill -TERM "$DPID"
    local rc=0
    wait "$DPID" || rc=$?
    DPID=
    lab_assert_eq "$rc" 0 "$1: exit status after SIGTERM"
    lab_assert_eq "$(ours "$CLI" "$SRV")" 0 "$1: rules of ours after SIGTERM"
}

# ---- 1. start on three ports
: >"$LOG"
start_daemon
wait_ready
n_all=$(ours "$CLI" "$SRV" "$EX")
n_ex=$(ours "$EX")
echo "1: $n_all rules of ours ($n_ex on $EX); status counts $(in_status)"
lab_assert_gt "$n_ex" 0 "1: rules on $EX"
lab_assert_eq "$n_all" "$(in_status)" "1: rules of ours in the kernel vs status"

# ---- 2. a device deleted under its rules
before=$(ids "$CLI" "$SRV")
keep=$(awk -v ex="$EX" '!($6 ~ ex)' <<<"$before")
n_to_ex=$(awk -v ex="$EX" '$6 ~ ex' <<<"$before" | grep -c . || true)
mark=$(wc -l <"$LOG")
lab_assert ip -n "$R" link del "$EX"
gone() { ! ctl_j status | jq -e --arg ex "$EX" '[.flowtables[].devices[] | select(.name == $ex and .present != false)] | length > 0' >/dev/null; }
lab_wait_for 30 gone || lab_fail "2: status still lists $EX as present 30 s after its deletion"
# the re-plan and re-sync settle: status counts what the kernel has
settled() { [[ $(in_status) == "$(ours "$CLI" "$SRV")" ]]; }
lab_wait_for 30 settled || lab_fail "2: status $(in_status) vs kernel $(ours "$CLI" "$SRV") rules of ours 30 s after the deletion"
after=$(ids "$CLI" "$SRV")
echo "2: $EX deleted: rules of ours on $CLI+$SRV: $(wc -l <<<"$before") -> $(wc -l <<<"$after")" \
    "($n_to_ex redirected to $EX); status counts $(in_status); daemon pid $(ctl_j status | jq .pid)"
echo "2: daemon log since the deletion:"
tail -n +"$((mark + 1))" "$LOG" | grep -Ev ': debug: ' | sed 's/^/    /' || true
lab_assert_eq "$(awk -v ex="$EX" '!($6 ~ ex)' <<<"$after")" "$keep" \
    "2: rules of ours on $CLI and $SRV other than redirects to $EX (same filters, same handles)"
lab_assert_eq "$(awk -v ex="$EX" '$6 ~ ex' <<<"$after" | grep -c . || true)" 0 "2: rules redirecting to $EX"
kill -0 "$DPID" || lab_fail "2: the daemon is gone"

# ---- 3. conntrack -F during an offloaded transfer
fwd_rx() { echo $(($(lab_dev_rx_packets "$R" "$CLI") + $(lab_dev_rx_packets "$R" "$SRV"))); }
redirected() {
    echo $(($(lab_tc_action_packets "$R" "$CLI" ingress 1 mirred) +
        $(lab_tc_action_packets "$R" "$SRV" ingress 1 mirred)))
}
ids3=$(ids "$CLI" "$SRV")
lab_tcp_transfer_bg -4 -t 8 -b 10M -T 120
sleep 3
n_ct=$(lab_conntrack -L 2>/dev/null | grep -c "dport=$LAB_TCP_PORT" || true)
m0=$(redirected)
lab_conntrack -F 2>&1 | sed 's/^/3: conntrack -F: /'
n_ct_after=$(lab_conntrack -L 2>/dev/null | grep -c "dport=$LAB_TCP_PORT" || true)
lab_bg_wait || lab_fail "3: the transfer across conntrack -F failed"
m1=$(redirected)
n_ct_end=$(lab_conntrack -L 2>/dev/null | grep "dport=$LAB_TCP_PORT" | head -n 2 || true)
echo "3: conntrack entries to port $LAB_TCP_PORT: $n_ct before the flush, $n_ct_after right after;" \
    "transfer $LAB_BG_BYTES bytes; redirected by chain 1 after the flush: $((m1 - m0)) packets"
echo "3: entries at the end: $n_ct_end"
lab_assert_gt "$n_ct" 0 "3: conntrack entries of the transfer before the flush"
lab_assert_gt "$LAB_BG_BYTES" 4000000 "3: bytes of the transfer across the flush"
# Whether act_ct picks the flushed connection up again mid-stream (+est, chain 1) is the
# kernel's: 3,461 packets in one run of 2026-11-26, 8 in two others (no conntrack entry of it
# at all until its end: the kernel's flowtables kept forwarding it). Reported, not asserted;
# what is ours is asserted: the same rules, the transfer survives, a new one is offloaded.
lab_assert_eq "$(ids "$CLI" "$SRV")" "$ids3" "3: rules of ours after conntrack -F (same filters)"
r0=$(fwd_rx)
m0=$(redirected)
B=$(lab_tcp_transfer -4 -n 4M -b 20M -T 120) || lab_fail "3: transfer after the flush failed"
d_rx=$(($(fwd_rx) - r0))
d_red=$(($(redirected) - m0))
echo "3: new transfer after the flush: $B bytes, router rx $d_rx, redirected $d_red" \
    "($((d_red * 1000 / (d_rx ? d_rx : 1)))‰)"
lab_assert_ge $((d_red * 100)) $((d_rx * 95)) "3: 100 x redirected vs 95 x router rx"
stop_daemon 3

# ---- 4. SIGKILL while installing ~500 rules, restart
ruleset "$CLI, $SRV" 60 | lab_nft_load
t0=$(date +%s%N)
start_daemon
wait_ready 180
t_ready=$((($(date +%s%N) - t0) / 1000000))
n_full=$(ours "$CLI" "$SRV")
clean=$(shape "$CLI" "$SRV")
echo "4: clean start with 60 exclusions: $n_full rules of ours, ready after $t_ready ms;" \
    "last sync $(ctl_j status | jq -c .ct.last_sync)"
lab_assert_gt "$n_full" 400 "4: rules of ours after a clean start"
lab_assert_eq "$n_full" "$(in_status)" "4: rules of ours vs status"
lab_assert_eq "$(dups "$clean")" 0 "4: duplicates (same device, chain, protocol, match) after a clean start"
stop_daemon 4

partial=0
lo=0
hi=$t_ready
for attempt in 1 2 3 4 5 6 7 8; do
    d=$(((lo + hi) / 2))
    start_daemon
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
    kill -9 "$DPID"
    wait "$DPID" 2>/dev/null || true
    DPID=
    n=$(ours "$CLI" "$SRV")
    echo "4: attempt $attempt: SIGKILL after $d ms: $n of $n_full rules of ours in the kernel"
    if ((n > 0 && n < n_full)); then
        partial=1
        break
    fi
    if ((n == 0)); then lo=$d; else hi=$d; fi
    lab_router "$BIN" flush "$CLI" "$SRV" >/dev/null || lab_fail "4: flush after attempt $attempt"
done
if ((!partial)); then
    # no kill landed inside the install: leave the same kind of state by hand (a complete
    # install with every other rule of ours deleted)
    echo "4: no SIGKILL landed mid-install in 8 attempts; deleting every other rule of a complete install"
    start_daemon
    wait_ready 180
    kill -9 "$DPID"
    wait "$DPID" 2>/dev/null || true
    DPID=
    ids "$CLI" "$SRV" | awk 'NR % 2 == 1 { print $1, $2, $3, $4, $5 }' |
        while read -r dev chain pref proto handle; do
            lab_router tc filter del dev "$dev" ingress chain "$chain" pref "$pref" \
                protocol "$proto" handle "$handle" flower
        done
    n=$(ours "$CLI" "$SRV")
    echo "4: partial state by hand: $n of $n_full rules of ours"
fi
mark=$(wc -l <"$LOG")
t0=$(date +%s%N)
start_daemon
wait_ready 180
t_conv=$((($(date +%s%N) - t0) / 1000000))
st=$(ctl_j status)
n_after=$(ours "$CLI" "$SRV")
now=$(shape "$CLI" "$SRV")
echo "4: restarted after the SIGKILL: ready after $t_conv ms, $n_after rules of ours," \
    "last sync $(jq -c .ct.last_sync <<<"$st")"
lab_assert_eq "$n_after" "$n_full" "4: rules of ours after the restart (zero orphans)"
lab_assert_eq "$(in_status)" "$n_full" "4: rules status counts after the restart"
lab_assert_eq "$(dups "$now")" 0 "4: duplicates (same device, chain, protocol, match) after the restart"
lab_assert_eq "$now" "$clean" "4: the filters of ours are those of a clean start"
lab_assert_eq "$(jq -r .last_error <<<"$st")" null "4: status last_error"

# ---- 5. SIGTERM
stop_daemon 5

# ---- 6. flow strategy: SIGKILL in the middle of the per-connection installs, restart
W=$(mktemp -d /tmp/lab-faults.XXXXXX)
ulimit -n $((NK * 2 + 1024))
ruleset "$CLI, $SRV" | lab_nft_load
cat >"$CONF" <<EOF
[daemon]
source = kernel
control_socket = $SOCK
EOF
ip netns exec "$LAB_NS_SERVER" "$CONNS" serve 5401 >/dev/null 2>&1 &
LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
lab_wait_for 20 lab_tcp_listening 5401 || lab_fail "6: echo server on 5401"
mark=$(wc -l <"$LOG")
start_daemon
wait_ready
# filters on rt-cli's ingress (one per connection, the original direction): one tc call
n_cli() { lab_router tc filter show dev "$CLI" ingress | grep -c '^filter .* handle ' || true; }
ip netns exec "$LAB_NS_CLIENT" "$CONNS" tcp "$LAB_SERVER_IP4" 5401 "$NK" 20000 --interval 2000 \
    --until "$W/stop" --ready "$W/ready" >"$W/c.out" 2>&1 &
cp6=$!
t0=$SECONDS
n=0
while ((SECONDS - t0 < 120)); do
    n=$(n_cli)
    ((n > 0)) && break
done
killed_at=$n
((n > 0 && n < NK)) && kill -9 "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=
n_kill=$(ours "$CLI" "$SRV")
echo "6: SIGKILL with $killed_at of $NK rt-cli rules seen; after the kill $n_kill rules of ours" \
    "in the kernel (a complete install: $((NK * 2)))"
lab_assert_gt "$killed_at" 0 "6: rt-cli rules when the kill was sent"
lab_assert_gt "$NK" "$killed_at" "6: the kill was sent before every connection had its rules"
lab_assert_gt "$((NK * 2))" "$n_kill" "6: rules of ours after the kill below a complete install"
lab_wait_for 300 test -e "$W/ready" || lab_fail "6: connections did not open: $(cat "$W/c.out")"
t0=$SECONDS
start_daemon
wait_ready
off6() { ctl_j status --timeout 60 | jq .flow.offloaded; }
all_off() { (($(off6) >= NK)); }
lab_wait_for 300 all_off || lab_fail "6: offloaded after the restart: $(off6) of $NK"
t_conv=$((SECONDS - t0))
# "dev handle" of the rules the new run owns (flows) and of the rules of ours in the kernel
ctl_j flows --timeout 60 | jq -r '.flows[] | select(.state == "offloaded") | .rules[]
    | "\(.dev) \(.handle)"' | sort >"$W/owned"
ids "$CLI" "$SRV" | awk '{ print $1, $5 }' | sort >"$W/inkernel"
now=$(shape "$CLI" "$SRV")
comm -13 "$W/owned" "$W/inkernel" >"$W/orphans"
comm -23 "$W/owned" "$W/inkernel" >"$W/missing"
n_orphans=$(grep -c . "$W/orphans" || true)
n_missing=$(grep -c . "$W/missing" || true)
echo "6: restarted: all $NK connections offloaded after $t_conv s; $(grep -c . "$W/inkernel")" \
    "rules of ours in the kernel, $(grep -c . "$W/owned") owned by the new run;" \
    "reconcile $(ctl_j status --timeout 60 | jq -c .flow.startup_reconcile)"
tail -n +"$((mark + 1))" "$LOG" | grep -E 'earlier run|reconcile' | sed 's/^/    /' || true
lab_assert_eq "$n_orphans" 0 "6: orphans (rules of ours in the kernel the new run does not own)"
lab_assert_eq "$n_missing" 0 "6: rules the new run owns that are not in the kernel"
lab_assert_eq "$(ours "$CLI" "$SRV")" $((NK * 2)) "6: rules of ours (two per connection)"
lab_assert_eq "$(dups "$now")" 0 "6: duplicates (same device, chain, protocol, match)"
sleep 4 # two echo rounds through the new run's rules
touch "$W/stop"
wait "$cp6" || lab_fail "6: echoes lost across the kill: $(cat "$W/c.out")"
echo "6: $(cat "$W/c.out") across the kill and the restart"
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
DPID=
lab_assert_eq "$rc" 0 "6: exit status after SIGTERM"
lab_assert_eq "$(ours "$CLI" "$SRV")" 0 "6: rules of ours after SIGTERM"
echo PASS
