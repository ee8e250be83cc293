#!/bin/bash
# bench latency — inside the lab VM (bench/run latency): time from a conntrack event to both
# rules of the connection acknowledged by the kernel, over NTO_BENCH_CONNS (1000) connections,
# next to `tc filter add` of one such rule.
#
# Two drivers. First bench_lab latency (the engine and the netlink core without the daemon's
# loop, written before the flow runtime existed): in the router namespace it subscribes to conntrack events, creates masqueraded ESTABLISHED+ASSURED
# TCP entries one at a time through ctnetlink (libnetfilter_conntrack, what `conntrack -I`
# does), and feeds each event to the engine (the plan of a `flow add` ruleset, the
# generic-flow profile, a path resolver for the lab's two subnets) whose sink installs both
# rules with nlc_tc_replace_batch (echo, compared). Measured per connection: event received
# -> both ACKs (ours), and entry created -> both ACKs (with the kernel's event delivery).
# Baselines in the same run: `tc filter replace` of one rule of the same layout, timed as a
# process in the router namespace, and one rule through nlc_tc_replace in the driver's
# process. Rounds interleave: NTO_BENCH_REPS (5) x (CONNS/REPS connections, 10 tc runs).
# Then the daemon itself (NTO_BENCH_DAEMON), see below.
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../../test/lab/lib.sh"
lab_require_vm
lab_require_cmd tc conntrack awk jq nft

CONNS=${NTO_BENCH_CONNS:-1000}
REPS=${NTO_BENCH_REPS:-5}
TOOL=${NTO_BENCH_DIR:?NTO_BENCH_DIR: the benchmark build}/bench_lab
[[ -x $TOOL ]] || lab_fail "not built: $TOOL"
W=$(mktemp -d /tmp/bench-latency.XXXXXX)
trap lab_teardown EXIT

lab_modprobe nf_conntrack nf_conntrack_netlink nf_nat cls_flower act_pedit act_csum \
    act_mirred act_gact sch_ingress
lab_topology_up
C=$LAB_ROUTER_CLIENT_DEV S=$LAB_ROUTER_SERVER_DEV
lab_router conntrack -L >/dev/null 2>&1 || true # loads nf_conntrack_netlink in the ns

# one-rule lines for the tc baseline: `filter replace dev rt-cli ingress ... handle N ...`
lab_router "$TOOL" text "$C" "$S" $((REPS * 10)) "$W/tc.txt" "$W/tcdel.txt"
per=$((CONNS / REPS))

flush() {
    lab_router tc qdisc del dev "$C" clsact 2>/dev/null || true
    lab_router tc qdisc del dev "$S" clsact 2>/dev/null || true
    lab_router conntrack -F >/dev/null 2>&1 || true
}

for ((rep = 1; rep <= REPS; rep++)); do
    flush
    lab_router "$TOOL" latency "$C" "$S" "$per" >"$W/lat$rep.txt" ||
        lab_fail "latency driver failed (round $rep)"
    grep '^latency:' "$W/lat$rep.txt"
    grep '^sample ' "$W/lat$rep.txt" >>"$W/samples"
    sed -nE 's/.*single_rule_nlc_us p50=([0-9.]+).*/\1/p' "$W/lat$rep.txt" >>"$W/single"
    flush
    lab_router tc qdisc add dev "$C" clsact
    # tc filter replace of one rule, 10 times (distinct handles), each timed as a process
    lab_router bash -c '
        i=0
        while read -r line; do
            i=$((i + 1))
            (( i > ($1 - 1) * 10 && i <= $1 * 10 )) || continue
            t0=$(date +%s%N)
            tc $line
            t1=$(date +%s%N)
            echo $(( (t1 - t0) / 1000 ))
        done <"$2"' _ "$rep" "$W/tc.txt" >>"$W/tc_us"
done
flush

# The daemon itself (flow strategy): NTO_BENCH_CONNS masqueraded ESTABLISHED entries created
# through ctnetlink 2 ms apart (bench_lab ctcreate, no traffic), each offloaded from its
# conntrack event; the daemon's own figure (status flow.install_latency: from reading the event
# to both rules acknowledged, over its last 1,024 installs).
BIN=${NTO_BENCH_DAEMON:-}
d50= d99=
if [[ -x $BIN ]]; then
    lab_modprobe nf_nat nft_chain_nat nf_flow_table nf_flow_table_inet nft_flow_offload
    lab_nft_flow_router
    lab_router_static_neighbours
    cat >"$W/nto.conf" <<EOF
[daemon]
control_socket = $W/ctl.sock
stats_interval_ms = 3600000
EOF
    ctl_j() { lab_router "$BIN" "$1" -j --socket "$W/ctl.sock" "${@:2}"; }
    offloaded() { [[ $(ctl_j status | jq '.flow.offloaded') -ge $1 ]]; }
    ip netns exec "$LAB_NS_ROUTER" "$BIN" run --config "$W/nto.conf" >"$W/daemon.log" 2>&1 &
    DPID=$!
    trap 'kill "$DPID" 2>/dev/null; lab_teardown' EXIT
    lab_wait_for 120 ctl_j status || lab_fail "the daemon did not answer: $(tail -n 20 "$W/daemon.log")"
    lab_router "$TOOL" ctcreate 0 "$CONNS" 2000
    lab_wait_for 300 offloaded "$CONNS" ||
        lab_fail "daemon: offloaded $(ctl_j status | jq .flow.offloaded) of $CONNS"
    lat=$(ctl_j status | jq -c .flow.install_latency)
    echo "daemon: $CONNS connections offloaded; install_latency $lat"
    d50=$(jq .p50_us <<<"$lat") d99=$(jq .p99_us <<<"$lat")
    kill -TERM "$DPID"
    wait "$DPID" || lab_fail "daemon exit status after SIGTERM"
    trap lab_teardown EXIT
fi

# pct FILE P — nearest-rank percentile P of the numbers in FILE
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'; }
awk '{ print $2 }' "$W/samples" >"$W/ours"
awk '{ print $3 }' "$W/samples" >"$W/total"
o50=$(pct "$W/ours" 50) o99=$(pct "$W/ours" 99) t50=$(pct "$W/total" 50) t99=$(pct "$W/total" 99)
c50=$(pct "$W/tc_us" 50) s50=$(pct "$W/single" 50)
echo "connections $(wc -l <"$W/ours"): event -> both rules acked: p50 $o50 us, p99 $o99 us; created -> acked: p50 $t50 us, p99 $t99 us"
echo "baselines: tc filter replace (one rule, as a process): median $c50 us over $(wc -l <"$W/tc_us"); nlc_tc_replace (one rule, in-process): median of round medians $s50 us"
if [[ -n $d50 ]]; then
    awk -v d50="$d50" -v d99="$d99" -v c50="$c50" 'BEGIN {
        printf "RESULT latency_daemon_p99_us %.0f us\n", d99
        printf "RESULT latency_daemon_p50_vs_tc_filter_add %.4f x\n", d50 / c50
        printf "RESULT latency_daemon_p50_us %.0f us\n", d50
    }'
fi
awk -v o50="$o50" -v o99="$o99" -v c50="$c50" -v s50="$s50" 'BEGIN {
    printf "RESULT latency_p99_us %.0f us\n", o99
    printf "RESULT latency_p50_vs_nlc_single_rule %.2f x\n", o50 / s50
    printf "RESULT latency_p50_us %.0f us\n", o50
    printf "RESULT latency_p50_vs_tc_filter_add %.4f x\n", o50 / c50
}'
