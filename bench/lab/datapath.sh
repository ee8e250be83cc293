#!/bin/bash
# bench datapath — inside the lab VM (bench/run datapath): one iperf3 TCP flow client ->
# router -> server for 5 s, rate-unlimited, three ways, interleaved NTO_BENCH_REPS (5) times:
#   plain      the kernel's forwarding, no ruleset
#   flowtable  nft software flowtable: `flowtable ft { hook ingress; devices = { rt-cli,
#              rt-srv } }` and `meta l4proto tcp flow add @ft` in the forward chain
#   ours       the two flow-strategy rules of that connection (bench_lab flowpair: the layout
#              flowrule_build makes, with TTL decrement and csum, no NAT), installed through
#              the netlink core before the transfer; the client's data port is fixed
#              (iperf3 --cport) so the rules can exist first
# The lab's veths have TSO/GSO/GRO off (lib.sh), so every figure is per-MTU-packet work; the
# VM has one emulated CPU that the transfer saturates.
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../../test/lab/lib.sh"
lab_require_vm
lab_require_cmd tc nft iperf3 jq awk

REPS=${NTO_BENCH_REPS:-5}
SECS=${NTO_BENCH_SECS:-5}
TOOL=${NTO_BENCH_DIR:?NTO_BENCH_DIR: the benchmark build}/bench_lab
[[ -x $TOOL ]] || lab_fail "not built: $TOOL"
W=$(mktemp -d /tmp/bench-datapath.XXXXXX)
trap lab_teardown EXIT

lab_modprobe nf_conntrack nf_flow_table nf_flow_table_inet nft_flow_offload cls_flower \
    act_pedit act_csum act_mirred act_gact sch_ingress
lab_topology_up
C=$LAB_ROUTER_CLIENT_DEV S=$LAB_ROUTER_SERVER_DEV
cmac=$(ip -n "$LAB_NS_CLIENT" -j link show "$LAB_CLIENT_DEV" | jq -r '.[0].address')
smac=$(ip -n "$LAB_NS_SERVER" -j link show "$LAB_SERVER_DEV" | jq -r '.[0].address')
lab_tcp_server_start "$LAB_TCP_PORT"

setup() { # setup MODE CPORT
    case $1 in
    plain) ;;
    flowtable)
        lab_nft_load <<EOF_NFT
table inet bench {
    flowtable ft {
        hook ingress priority 0; devices = { $C, $S };
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto tcp flow add @ft
    }
}
EOF_NFT
        ;;
    ours)
        lab_router "$TOOL" flowpair "$C" "$S" "$LAB_CLIENT_IP4:$2" "$LAB_SERVER_IP4:$LAB_TCP_PORT" \
            "$cmac" "$smac" >"$W/rules.txt" || lab_fail "flowpair install failed"
        ;;
    esac
}

teardown() { # teardown MODE — and check that the mode carried the transfer
    case $1 in
    flowtable) lab_router nft delete table inet bench ;;
    ours)
        local p
        p=$(lab_tc_filter_packets "$LAB_NS_ROUTER" "$C" ingress 0 8192)
        ((p > 1000)) || lab_fail "our rule on $C counted only $p packets"
        lab_router tc qdisc del dev "$C" clsact
        lab_router tc qdisc del dev "$S" clsact
        ;;
    esac
}

echo "mode rep gbit_s"
port=40000
for ((rep = 1; rep <= REPS; rep++)); do
    for mode in plain flowtable ours; do
        port=$((port + 1))
        setup "$mode" "$port"
        # NTO_BENCH_PERF=1: a system-wide profile of the last repetition's transfer, each way
        perf_pid=
        if [[ -n ${NTO_BENCH_PERF:-} ]] && ((rep == REPS)); then
            perf record -q -a -g -e cpu-clock -F 499 -o "$W/perf.$mode" -- sleep "$SECS" \
                >/dev/null 2>&1 &
            perf_pid=$!
        fi
        timeout -k 5 $((SECS + 60)) ip netns exec "$LAB_NS_CLIENT" \
            iperf3 -c "$LAB_SERVER_IP4" -p "$LAB_TCP_PORT" --cport "$port" -t "$SECS" -J \
            --connect-timeout 5000 >"$W/iperf.json" || lab_fail "iperf3 ($mode) failed"
        bytes=$(jq '.end.sum_received.bytes' "$W/iperf.json")
        secs=$(jq '.end.sum_received.seconds' "$W/iperf.json")
        [[ -z $perf_pid ]] || wait "$perf_pid" || true
        teardown "$mode"
        awk -v m="$mode" -v r="$rep" -v b="$bytes" -v s="$secs" \
            'BEGIN { printf "%s %d %.3f\n", m, r, b * 8 / s / 1e9 }' | tee -a "$W/runs"
    done
done
echo "our rules (last run):"
cat "$W/rules.txt"
if [[ -n ${NTO_BENCH_PERF:-} ]]; then
    for mode in plain flowtable ours; do
        echo "---- profile of the last $mode transfer (whole VM, by symbol):"
        perf report -i "$W/perf.$mode" --stdio --no-children --sort symbol -g none \
            --percent-limit 0.1 2>/dev/null | grep -v "^#" | grep -v "^$" | head -n 30 || true
    done
fi

awk '
function median(arr, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}
{ c[$1]++; v[$1, c[$1]] = $3 }
END {
    split("plain flowtable ours", ms, " ")
    for (i = 1; i <= 3; i++) {
        m = ms[i]
        for (j = 1; j <= c[m]; j++) a[j] = v[m, j]
        med[m] = median(a, c[m])
        printf "median %-9s %.3f Gbit/s\n", m, med[m]
    }
    printf "RESULT datapath_flowtable_vs_plain %.2f x\n", med["flowtable"] / med["plain"]
    printf "RESULT datapath_ours_vs_plain %.2f x\n", med["ours"] / med["plain"]
    printf "RESULT datapath_ours_vs_flowtable %.2f x\n", med["ours"] / med["flowtable"]
}' "$W/runs"
