#!/bin/bash
# bench restart-daemon — inside the lab VM (bench/run restart-daemon): the daemon's own restart
# (flow strategy) over NTO_BENCH_RESTART_RULES (100000) rules, i.e. half as many connections.
#
#   setup      the lab topology, a flowtable on the router's two ports with `flow add`, a
#              first daemon, and N/2 masqueraded ESTABLISHED+ASSURED TCP conntrack entries
#              created through ctnetlink (bench_lab ctcreate: no traffic) in chunks of 5,000,
#              each chunk offloaded by the daemon before the next (N rules: its full install,
#              timed until status says offloaded = N/2)
#   per rep    (NTO_BENCH_REPS, 5): the raw dump of both ports (bench_lab rawdump: the kernel's
#              dump pace, the baseline); the daemon killed with SIGKILL; an earlier run's debris
#              added (5 conntrack entries deleted: 10 orphan rules; 5 rules duplicated at the
#              next prio); the daemon restarted; its start-up reconcile time read from status
#              (flow.startup_reconcile_ms: tc dump + conntrack dump + adoption + deletes +
#              installs) and, as a process, from the restart until status answers; then
#              bench_lab ctverify: one rule per port per entry, no orphans, no duplicates.
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../../test/lab/lib.sh"
lab_require_vm
lab_require_cmd tc jq nft conntrack awk

N=${NTO_BENCH_RESTART_RULES:-100000}
C=$((N / 2))
REPS=${NTO_BENCH_REPS:-5}
TOOL=${NTO_BENCH_DIR:?NTO_BENCH_DIR: the benchmark build}/bench_lab
BIN=${NTO_BENCH_DAEMON:?NTO_BENCH_DAEMON: the daemon of the benchmark build}
[[ -x $TOOL ]] || lab_fail "not built: $TOOL"
[[ -x $BIN ]] || lab_fail "not built: $BIN"
W=$(mktemp -d /tmp/bench-rd.XXXXXX)
LOG=$W/daemon.log
DPID=
trap 'lab_daemon_cleanup "$LOG" 40; lab_teardown' EXIT

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", (b-a)/1e9}'; }
field() { sed -nE "s/.*[[:space:]]$1=([0-9.]+).*/\\1/p" <<<"$2"; }

lab_modprobe nf_conntrack nf_nat nft_chain_nat nft_masq cls_flower act_pedit act_csum \
    act_mirred act_gact sch_ingress nf_flow_table nf_flow_table_inet nft_flow_offload
sysctl -qw net.netfilter.nf_conntrack_max=262144
lab_topology_up
R=$LAB_NS_ROUTER
LAN=$LAB_ROUTER_CLIENT_DEV WAN=$LAB_ROUTER_SERVER_DEV
lab_nft_flow_router
# the neighbours the paths need (the entries are made without traffic)
lab_router_static_neighbours
# no stats poll while measuring (a poll reads every rule; idle flows would be retired)
cat >"$W/nto.conf" <<EOF
[daemon]
control_socket = $W/ctl.sock
stats_interval_ms = 3600000
EOF
ctl_j() { lab_router "$BIN" "$1" -j --socket "$W/ctl.sock" "${@:2}"; }
offloaded() { [[ $(ctl_j status | jq '.flow.offloaded') -ge $1 ]]; }
reconciled() { ctl_j status 2>/dev/null | jq -e '.flow.startup_reconcile_ms != null' >/dev/null; }
# NTO_BENCH_DAEMON_WRAP (profiling): a command the restarted daemons run under, e.g.
# "valgrind --tool=callgrind --toggle-collect=flowrt_start --dump-after=flowrt_start
# --callgrind-out-file=/some/rw/dir/cg.%p" (the first daemon runs bare)
start_daemon() {
    local wrap=()
    [[ ${1:-} == restart ]] && read -ra wrap <<<"${NTO_BENCH_DAEMON_WRAP:-}"
    ip netns exec "$R" "${wrap[@]}" "$BIN" run --config "$W/nto.conf" >>"$LOG" 2>&1 &
    DPID=$!
}
echo "rules: $N ($C connections) on $LAN and $WAN ingress"
echo "memory: $(awk '/MemTotal|MemAvailable/ {printf "%s %d MB  ", $1, $2 / 1024}' /proc/meminfo)"

# The first daemon starts on an empty table and offloads the entries as they are created, in
# chunks of 5,000 (its start-up dump would hold every connection's pending install at once:
# ~10 KB each, too much for the VM at 50,000).
start_daemon
lab_wait_for 300 ctl_j status || lab_fail "the first daemon did not answer"
t0=$(now)
ct_s=0
for ((from = 0; from < C; from += 5000)); do
    k=$((C - from < 5000 ? C - from : 5000))
    out=$(lab_router "$TOOL" ctcreate "$from" "$k")
    lab_assert_eq "$(field errors "$out")" 0 "conntrack entries not created"
    ct_s=$(awk -v a="$ct_s" -v b="$(field time_s "$out")" 'BEGIN{printf "%.3f", a+b}')
    lab_wait_for 3000 offloaded $((from + k)) || lab_fail "first daemon: $(ctl_j status | jq -c '{tracked: .flow.tracked, offloaded: .flow.offloaded, refused: .flow.in_software_by_reason}')"
done
t1=$(now)
install_s=$(secs "$t0" "$t1")
echo "first daemon: $C conntrack entries created (ctcreate, in-process: $ct_s s) and offloaded ($N rules installed) in $install_s s"
echo "memory after install: $(awk '/MemAvailable/ {printf "%d MB available", $2 / 1024}' /proc/meminfo)"
vout=$(lab_router "$TOOL" ctverify "$LAN" "$WAN") || lab_fail "after the first start: $vout"
echo "$vout"

echo "rep conns rawdump_inproc_s rawdump_s reconcile_s process_s found adopted replaced deleted coredump_s tcdump_ms ctdump_ms delete_ms install_ms"
for ((rep = 1; rep <= REPS; rep++)); do
    t0=$(now)
    a=$(lab_router "$TOOL" rawdump "$LAN")
    b=$(lab_router "$TOOL" rawdump "$WAN")
    t1=$(now)
    raw_in=$(awk -v a="$(field time_s "$a")" -v b="$(field time_s "$b")" 'BEGIN{printf "%.3f", a+b}')
    raw_s=$(secs "$t0" "$t1")
    echo "rep $rep: $a / $b" >&2
    # the kernel's pace for a terse tc dump and for the conntrack dump (baselines, not timed above)
    echo "rep $rep: terse $(lab_router "$TOOL" rawdump-terse "$LAN") / $(lab_router "$TOOL" rawdump-terse "$WAN")"
    echo "rep $rep: conntrack $(lab_router "$TOOL" ctrawdump)"
    # the same dump through our netlink core (every filter decoded), no adoption
    t0=$(now)
    lab_router "$TOOL" count "$LAN" >/dev/null
    lab_router "$TOOL" count "$WAN" >/dev/null
    t1=$(now)
    core_s=$(secs "$t0" "$t1")

    kill -KILL "$DPID"
    wait "$DPID" 2>/dev/null || true
    DPID=
    # debris of the dead run: 5 connections gone (10 orphan rules), 5 duplicate rules
    for ((k = 0; k < 5; k++)); do
        lab_router conntrack -D -p tcp --orig-port-src $((10000 + C - 1 - 5 * (rep - 1) - k)) >/dev/null 2>&1 ||
            lab_fail "conntrack -D"
    done
    d=$(lab_router "$TOOL" ctdupe "$LAN" 5) || lab_fail "ctdupe: $d"

    t0=$(now)
    start_daemon restart
    lab_wait_for 3000 reconciled || lab_fail "the restarted daemon did not finish its start-up"
    t1=$(now)
    s=$(ctl_j status)
    echo "rep $rep: $(jq -c '.flow | {startup_reconcile_ms, startup_reconcile, offloaded, tracked}' <<<"$s")" >&2
    vout=$(lab_router "$TOOL" ctverify "$LAN" "$WAN") || lab_fail "rep $rep: $vout"
    echo "rep $rep: $vout" >&2
    lab_assert_match "$vout" 'missing=0 duplicates=0 orphans=0' "state after the restart"
    lab_assert_eq "$(jq '.flow.startup_reconcile.adopted' <<<"$s")" $((2 * $(field conns "$vout"))) "rules adopted"
    lab_assert_eq "$(jq '.flow.startup_reconcile.deleted' <<<"$s")" 15 "rules deleted (10 orphans, 5 duplicates)"
    stages=$(grep 'start-up reconcile' "$LOG" | tail -n 1 |
        sed -nE 's/.*tc dump ([0-9]+), conntrack dump ([0-9]+), deletes ([0-9]+), installs ([0-9]+).*/\1 \2 \3 \4/p')
    printf '%s %s %s %s %s %s %s %s %s %s %s %s\n' "$rep" "$(field conns "$vout")" "$raw_in" "$raw_s" \
        "$(jq '.flow.startup_reconcile_ms / 1000' <<<"$s")" "$(secs "$t0" "$t1")" \
        "$(jq '.flow.startup_reconcile.found' <<<"$s")" "$(jq '.flow.startup_reconcile.adopted' <<<"$s")" \
        "$(jq '.flow.startup_reconcile.replaced' <<<"$s")" "$(jq '.flow.startup_reconcile.deleted' <<<"$s")" \
        "$core_s" "$stages" |
        tee -a "$W/runs"
done
grep -E "start-up reconcile|earlier run|adoption index" "$LOG" | tail -n 4 || true

awk -v n="$N" -v inst="$install_s" '
function median(arr, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}
{ k++; for (c = 3; c <= 15; c++) V[c, k] = $c }
END {
    split("rawdump_inproc_s rawdump_s reconcile_s process_s found adopted replaced deleted coredump_s tcdump_ms ctdump_ms delete_ms install_ms", names, " ")
    for (c = 3; c <= 15; c++) {
        for (j = 1; j <= k; j++) a[j] = V[c, j]
        m[c] = median(a, k)
        printf "median %-18s %.3f\n", names[c - 2], m[c]
    }
    printf "RESULT restart_daemon_tcdump_vs_coredump %.2f x\n", m[12] / 1000 / m[11]
    printf "RESULT restart_daemon_reconcile_vs_rawdump %.2f x\n", m[5] / m[3]
    printf "RESULT restart_daemon_reconcile_vs_first_install %.3f x\n", m[5] / inst
    printf "RESULT restart_daemon_orphans 0 filters\n"
    printf "RESULT restart_daemon_duplicates 0 filters\n"
    printf "RESULT restart_daemon_process_s %.3f s\n", m[6]
    printf "RESULT restart_daemon_reconcile_s %.3f s\n", m[5]
}' "$W/runs"
# SIGKILL: on_stop = remove would delete every rule (minutes in the VM) for nothing
kill -KILL "$DPID" 2>/dev/null || true
wait "$DPID" 2>/dev/null || true
DPID=
