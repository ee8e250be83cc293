#!/bin/bash
# bench restart — inside the lab VM (bench/run restart): the reconcile a restarted daemon does
# over NTO_BENCH_RESTART_RULES (20000; the goal is 100000, see docs/benchmarks.md) rules of ours on one veth's clsact ingress.
#
# Per repetition (NTO_BENCH_REPS, 5), on a fresh clsact:
#   setup      two operator filters (no cookie) + bench_lab restart-setup: N rules of ours
#              (connections 0..N-1) and a duplicate of every 1000th one at the next prio
#   baselines  the same installed rules dumped two ways: `tc -s filter show dev DEV ingress`
#              (a process, output discarded) and bench_lab rawdump (plain socket, messages
#              counted, not decoded: the kernel's dump pace)
#   reconcile  bench_lab reconcile: the plan is connections N/10 .. N/10+N-1 (every 50th with
#              another NAT port): dump through the core, adopt what equals the plan, delete the
#              rest of ours (first 10 % + duplicates), replace the changed ones in place, add
#              the last 10 % (no-echo batches, caller's handles); timed in-process and as a
#              process
#   verify     bench_lab verify: a dump afterwards; must show 0 missing, 0 duplicates,
#              0 orphans, 0 unequal, and the 2 operator filters
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../../test/lab/lib.sh"
lab_require_vm
lab_require_cmd tc awk

N=${NTO_BENCH_RESTART_RULES:-20000}
REPS=${NTO_BENCH_REPS:-5}
TOOL=${NTO_BENCH_DIR:?NTO_BENCH_DIR: the benchmark build}/bench_lab
[[ -x $TOOL ]] || lab_fail "not built: $TOOL"
W=$(mktemp -d /tmp/bench-restart.XXXXXX)
DEV=bnch0 PEER=bnch1
cleanup() { ip link del "$DEV" 2>/dev/null || true; }
trap cleanup EXIT

lab_modprobe cls_flower act_pedit act_csum act_mirred act_gact sch_ingress veth
ip link add "$DEV" type veth peer name "$PEER"
ip link set "$DEV" up
ip link set "$PEER" up
echo "rules: $N of ours on $DEV ingress (+ $(((N + 999) / 1000)) duplicates, 2 operator filters)"
echo "memory: $(awk '/MemTotal|MemAvailable/ {printf "%s %d MB  ", $1, $2 / 1024}' /proc/meminfo)"

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", (b-a)/1e9}'; }
field() { sed -nE "s/.*[[:space:]]$1=([0-9.]+).*/\\1/p" <<<"$2"; }

echo "rep setup_s tcshow_s rawdump_s rawdump_inproc_s reconcile_s reconcile_inproc_s dump_s delete_s install_s"
for ((rep = 1; rep <= REPS; rep++)); do
    tc qdisc add dev "$DEV" clsact
    tc filter add dev "$DEV" ingress protocol ip pref 10 flower ip_proto udp action pass
    tc filter add dev "$DEV" ingress protocol ip pref 11 flower ip_proto icmp action drop
    t0=$(now)
    out=$("$TOOL" restart-setup "$DEV" "$PEER" "$N")
    t1=$(now)
    echo "rep $rep: $out" >&2
    [[ $rep == 1 ]] && echo "memory after setup: $(awk '/MemAvailable/ {printf "%d MB available", $2 / 1024}' /proc/meminfo)"
    setup_s=$(secs "$t0" "$t1")

    t0=$(now)
    tc -s filter show dev "$DEV" ingress >/dev/null
    t1=$(now)
    tcshow_s=$(secs "$t0" "$t1")

    t0=$(now)
    out=$("$TOOL" rawdump "$DEV")
    t1=$(now)
    echo "rep $rep: $out" >&2
    rawdump_s=$(secs "$t0" "$t1")
    rawdump_in=$(field time_s "$out")

    t0=$(now)
    out=$("$TOOL" reconcile "$DEV" "$PEER" "$N")
    t1=$(now)
    echo "rep $rep: $out" >&2
    [[ $rep == 1 ]] && echo "$out"
    reconcile_s=$(secs "$t0" "$t1")

    vout=$("$TOOL" verify "$DEV" "$PEER" "$N") || lab_fail "verify: $vout"
    echo "rep $rep: $vout" >&2
    lab_assert_match "$vout" 'missing=0 duplicates=0 orphans=0 unequal=0 others=2' "state after the reconcile"
    [[ $rep == 1 ]] && echo "$vout"
    printf '%s %s %s %s %s %s %s %s %s %s\n' "$rep" "$setup_s" "$tcshow_s" "$rawdump_s" \
        "$rawdump_in" "$reconcile_s" "$(field time_s "$out")" "$(field dump_s "$out")" \
        "$(field delete_s "$out")" "$(field install_s "$out")" | tee -a "$W/runs"
    tc qdisc del dev "$DEV" clsact
done

awk -v n="$N" '
function median(arr, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}
{ k++; for (c = 2; c <= 10; c++) V[c, k] = $c }
END {
    split("setup_s tcshow_s rawdump_s rawdump_inproc_s reconcile_s reconcile_inproc_s dump_s delete_s install_s", names, " ")
    for (c = 2; c <= 10; c++) {
        for (j = 1; j <= k; j++) a[j] = V[c, j]
        m[c] = median(a, k)
        printf "median %-20s %.3f s\n", names[c - 1], m[c]
    }
    printf "RESULT restart_reconcile_vs_tc_show %.2f x\n", m[3] / m[6]
    printf "RESULT restart_dump_vs_rawdump_inprocess %.2f x\n", m[5] / m[8]
    printf "RESULT restart_reconcile_vs_rawdump_inprocess %.2f x\n", m[5] / m[7]
    printf "RESULT restart_orphans 0 filters\n"
    printf "RESULT restart_duplicates 0 filters\n"
    printf "RESULT restart_reconcile_process_s %.3f s\n", m[6]
    printf "RESULT restart_reconcile_s %.3f s\n", m[7]
}' "$W/runs"
