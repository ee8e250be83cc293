#!/bin/bash
# bench install — inside the lab VM (bench/run install): install and delete rate of N
# per-connection flower rules (flow layout, our cookie) on one veth's clsact ingress, three ways:
#   ours    bench_lab add / del: the netlink core (nlc_tc_replace_batch: NLM_F_ECHO, every echo
#           decoded and compared; nlc_tc_delete_batch)
#   noecho  bench_lab add --no-echo: nlc_tc_replace_batch_noecho, the echo-less replace with the
#           caller's handles (ACKs only, errors/extack still per rule); deletes as ours (the
#           delete path never asks for an echo)
#   tc      tc -batch of the same rules as our printer writes them (tc_print)
#   raw     bench_lab replay: the same requests pre-encoded (tc_encode) into one file, sent
#           32 KB per sendmsg, only the ACKs read: the kernel's own pace
#   raw32   the same replay with 32 requests per sendmsg, the netlink core's window
#           (NLC_WINDOW_MAX): the kernel is faster with fewer replies queued, so this is the
#           stricter baseline for ours
# Each is timed as a whole process (date around it), the way an operator runs it; ours and
# raw also print their own in-process time, and the machine's CPU work from the timed part's
# start until 1 s after its end (work_s: every task, the kernel's deferred freeing included;
# bench_busy_ns). Interleaved: rep 1 ours noecho tc raw raw32, ...
# The clsact qdisc is deleted and re-added between runs. Medians of NTO_BENCH_REPS (5).
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../../test/lab/lib.sh"
lab_require_vm
lab_require_cmd tc awk

N=${NTO_BENCH_RULES:-20000}
REPS=${NTO_BENCH_REPS:-5}
TOOL=${NTO_BENCH_DIR:?NTO_BENCH_DIR: the benchmark build}/bench_lab
[[ -x $TOOL ]] || lab_fail "not built: $TOOL"
W=$(mktemp -d /tmp/bench-install.XXXXXX)
DEV=bnch0 PEER=bnch1
cleanup() { ip link del "$DEV" 2>/dev/null || true; }
trap cleanup EXIT

lab_modprobe cls_flower act_pedit act_csum act_mirred act_gact sch_ingress veth
ip link add "$DEV" type veth peer name "$PEER"
ip link set "$DEV" up
ip link set "$PEER" up

"$TOOL" text "$DEV" "$PEER" "$N" "$W/add.tc" "$W/del.tc"
"$TOOL" encode "$DEV" "$PEER" "$N" "$W/add.nl" "$W/del.nl"
echo "rules: $N on $DEV ingress -> $PEER; tc -batch line:"
head -n 1 "$W/add.tc"
head -n 1 "$W/del.tc"
echo "bytes: tc text $(wc -c <"$W/add.tc"), netlink $(wc -c <"$W/add.nl")"

now() { date +%s%N; }
count() { "$TOOL" count "$DEV"; }

# run METHOD REP — one install + delete, timed; appends "METHOD add_s del_s in_add in_del"
run() {
    local m=$1 rep=$2 t0 t1 t2 t3 out_add='' out_del='' n
    tc qdisc add dev "$DEV" clsact
    t0=$(now)
    case $m in
    ours) out_add=$("$TOOL" add "$DEV" "$PEER" "$N") ;;
    noecho) out_add=$("$TOOL" add "$DEV" "$PEER" "$N" --no-echo) ;;
    tc) tc -batch "$W/add.tc" ;;
    raw) out_add=$("$TOOL" replay "$W/add.nl") ;;
    raw32) out_add=$(NTO_BENCH_RAW_MSGS=32 "$TOOL" replay "$W/add.nl") ;;
    esac
    t1=$(now)
    n=$(count)
    [[ $n == "$N" ]] || lab_fail "$m: $n rules installed, not $N"
    t2=$(now)
    case $m in
    ours | noecho) out_del=$("$TOOL" del "$DEV" "$PEER" "$N") ;;
    tc) tc -batch "$W/del.tc" ;;
    raw) out_del=$("$TOOL" replay "$W/del.nl") ;;
    raw32) out_del=$(NTO_BENCH_RAW_MSGS=32 "$TOOL" replay "$W/del.nl") ;;
    esac
    t3=$(now)
    n=$(count)
    [[ $n == 0 ]] || lab_fail "$m: $n rules left after the delete"
    tc qdisc del dev "$DEV" clsact
    local in_add in_del w_add w_del s_add s_del
    in_add=$(sed -nE 's/.*time_s=([0-9.]+).*/\1/p' <<<"$out_add")
    in_del=$(sed -nE 's/.*time_s=([0-9.]+).*/\1/p' <<<"$out_del")
    w_add=$(sed -nE 's/.*work_s=([0-9.]+).*/\1/p' <<<"$out_add")
    w_del=$(sed -nE 's/.*work_s=([0-9.]+).*/\1/p' <<<"$out_del")
    # the process's time without the sleeps of its work measurement
    s_add=$(sed -nE 's/.*slept_s=([0-9.]+).*/\1/p' <<<"$out_add")
    s_del=$(sed -nE 's/.*slept_s=([0-9.]+).*/\1/p' <<<"$out_del")
    printf '%s %s %s %s %s %s %s\n' "$m" \
        "$(awk -v a="$t0" -v b="$t1" -v s="${s_add:-0}" 'BEGIN{printf "%.3f", (b-a)/1e9 - s}')" \
        "$(awk -v a="$t2" -v b="$t3" -v s="${s_del:-0}" 'BEGIN{printf "%.3f", (b-a)/1e9 - s}')" \
        "${in_add:--}" "${in_del:--}" "${w_add:--}" "${w_del:--}" | tee -a "$W/runs"
    echo "rep $rep $m: $out_add $out_del" >&2
}

echo "method add_s del_s inproc_add_s inproc_del_s work_add_s work_del_s"
for ((rep = 1; rep <= REPS; rep++)); do
    for m in ours noecho tc raw raw32; do
        run "$m" "$rep"
    done
done

# medians and ratios (rates are N / time, so a rate ratio is the inverse time ratio)
awk -v n="$N" '
function median(arr, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}
{ c[$1]++; A[$1, c[$1]] = $2; D[$1, c[$1]] = $3; IA[$1, c[$1]] = $4; ID[$1, c[$1]] = $5; WA[$1, c[$1]] = $6; WD[$1, c[$1]] = $7 }
END {
    split("ours noecho tc raw raw32", ms, " ")
    for (i = 1; i <= 5; i++) {
        m = ms[i]; k = c[m]
        for (j = 1; j <= k; j++) { a[j] = A[m, j]; d[j] = D[m, j] }
        ma[m] = median(a, k); md[m] = median(d, k)
        printf "median %-6s add %.3f s (%.0f rules/s)  del %.3f s (%.0f rules/s)", m, ma[m], n / ma[m], md[m], n / md[m]
        if (m != "tc") {
            for (j = 1; j <= k; j++) { a[j] = IA[m, j]; d[j] = ID[m, j] }
            ia[m] = median(a, k); id[m] = median(d, k)
            printf "  in-process: add %.3f s del %.3f s", ia[m], id[m]
            for (j = 1; j <= k; j++) { a[j] = WA[m, j]; d[j] = WD[m, j] }
            wa[m] = median(a, k); wd[m] = median(d, k)
            printf "  machine work: add %.3f s del %.3f s", wa[m], wd[m]
        }
        printf "\n"
    }
    printf "RESULT install_ours_vs_raw_inprocess %.2f x\n", ia["raw"] / ia["ours"]
    printf "RESULT install_noecho_vs_raw_inprocess %.2f x\n", ia["raw"] / ia["noecho"]
    printf "RESULT delete_ours_vs_raw_inprocess %.2f x\n", id["raw"] / id["ours"]
    printf "RESULT delete_ours_vs_raw32_inprocess %.2f x\n", id["raw32"] / id["ours"]
    printf "RESULT delete_ours_vs_raw_work %.2f x\n", wd["raw"] / wd["ours"]
    printf "RESULT delete_ours_vs_raw32_work %.2f x\n", wd["raw32"] / wd["ours"]
    printf "RESULT install_noecho_vs_raw_work %.2f x\n", wa["raw"] / wa["noecho"]
    printf "RESULT install_noecho_vs_raw32_inprocess %.2f x\n", ia["raw32"] / ia["noecho"]
    printf "RESULT install_ours_vs_raw %.2f x\n", ma["raw"] / ma["ours"]
    printf "RESULT install_noecho_vs_tc_batch %.2f x\n", ma["tc"] / ma["noecho"]
    printf "RESULT install_noecho_vs_raw %.2f x\n", ma["raw"] / ma["noecho"]
    printf "RESULT delete_ours_vs_tc_batch %.2f x\n", md["tc"] / md["ours"]
    printf "RESULT delete_ours_vs_raw %.2f x\n", md["raw"] / md["ours"]
    printf "RESULT install_ours_rate %.0f rules/s\n", n / ma["ours"]
    printf "RESULT install_noecho_rate %.0f rules/s\n", n / ma["noecho"]
    printf "RESULT install_ours_vs_tc_batch %.2f x\n", ma["tc"] / ma["ours"]
    printf "RESULT install_noecho_vs_raw %.2f x\n", ma["raw"] / ma["noecho"]
}' "$W/runs"
