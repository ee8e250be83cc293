#!/bin/bash
# bench datapath — inside the lab VM (bench/run datapath): one iperf3 TCP flow client ->
# router -> server for NTO_BENCH_SECS (2) s, rate-unlimited, three ways, interleaved
# NTO_BENCH_REPS (5) times:
#   plain      the kernel's forwarding, no ruleset
#   flowtable  nft software flowtable: `flowtable ft { hook ingress; devices = { rt-cli,
#              rt-srv } }` and `meta l4proto tcp flow add @ft` in the forward chain
#   ours       the two flow-strategy rules of that connection (bench_lab flowpair: the layout
#              flowrule_build makes, with TTL decrement and csum, no NAT), installed through
#              the netlink core before the transfer; the client's data port is fixed
#              (iperf3 --cport) so the rules can exist first
# NTO_BENCH_VARIANTS: more ways, our rules with parts taken out; NTO_BENCH_GRAPH: a
# function_graph trace per way after the repetitions (both below).
# The lab's veths have TSO/GSO/GRO off (lib.sh), so every figure is per-MTU-packet work; the
# VM has one emulated CPU. bench/run starts the VM on QEMU's instruction counter (-icount
# shift=0): the guest's seconds are instructions, so a rate here is a cost per byte in guest
# instructions that host load does not change, not a wall-clock rate.
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../../test/lab/lib.sh"
lab_require_vm
lab_require_cmd tc nft iperf3 jq awk

REPS=${NTO_BENCH_REPS:-5}
SECS=${NTO_BENCH_SECS:-2}
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
    ours | ours-*)
        lab_router "$TOOL" flowpair "$C" "$S" "$LAB_CLIENT_IP4:$2" "$LAB_SERVER_IP4:$LAB_TCP_PORT" \
            "$cmac" "$smac" >"$W/rules.txt" || lab_fail "flowpair install failed"
        if [[ $1 != ours ]]; then
            lab_router tc filter del dev "$C" ingress
            lab_router tc filter del dev "$S" ingress
            variant "${1#ours-}" <"$W/rules.txt" | sed 's/^filter replace /filter add /' |
                lab_router tc -batch - || lab_fail "the $1 rules were refused"
        fi
        ;;
    esac
}

# NTO_BENCH_VARIANTS: extra ways, each our two rules with one thing taken out, deleted and added
# again with tc (the printed rules, edited) so the cost of each part shows as a difference:
#   noflags  no tcp_flags match (FIN/RST would stay in the fast path: measurement only)
#   noindev  no indev match
#   nottl    no TTL decrement and no csum action (pedit of the MACs only)
#   minimal  all three: flower on the 5-tuple, pedit of the MACs, mirred
variant() { # variant NAME — stdin: our rules as tc batch lines; stdout: the edited ones
    case $1 in
    noflags) sed 's/ tcp_flags [^ ]*//' ;;
    noindev) sed 's/ indev [^ ]*//' ;;
    nottl) sed -e 's/ munge ip ttl add [^ ]*//' -e 's/ action csum iph pipe cookie [0-9a-f]*//' ;;
    minimal) sed -e 's/ tcp_flags [^ ]*//' -e 's/ indev [^ ]*//' -e 's/ munge ip ttl add [^ ]*//' \
        -e 's/ action csum iph pipe cookie [0-9a-f]*//' ;;
    esac
}
MODES="plain flowtable ours"
for v in ${NTO_BENCH_VARIANTS:-}; do
    [[ " noflags noindev nottl minimal " == *" $v "* ]] ||
        lab_fail "NTO_BENCH_VARIANTS: unknown variant $v (noflags noindev nottl minimal)"
    MODES+=" ours-$v"
done

teardown() { # teardown MODE — and check that the mode carried the transfer
    case $1 in
    flowtable) lab_router nft delete table inet bench ;;
    ours | ours-*)
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
    for mode in $MODES; do
        port=$((port + 1))
        setup "$mode" "$port"
        timeout -k 5 $((SECS + 60)) ip netns exec "$LAB_NS_CLIENT" \
            iperf3 -c "$LAB_SERVER_IP4" -p "$LAB_TCP_PORT" --cport "$port" -t "$SECS" -J \
            --connect-timeout 5000 >"$W/iperf.json" || lab_fail "iperf3 ($mode) failed"
        bytes=$(jq '.end.sum_received.bytes' "$W/iperf.json")
        secs=$(jq '.end.sum_received.seconds' "$W/iperf.json")
        teardown "$mode"
        awk -v m="$mode" -v r="$rep" -v b="$bytes" -v s="$secs" \
            'BEGIN { printf "%s %d %.3f\n", m, r, b * 8 / s / 1e9 }' | tee -a "$W/runs"
    done
done
echo "our rules (last run):"
cat "$W/rules.txt"

# NTO_BENCH_GRAPH=1 (or =entry: the entry point alone): after the repetitions (not in the
# medians), one more transfer per way with the function_graph tracer for 0.5 s in its middle, on that way's entry point in the router and
# a few functions under it; per function: calls, mean and total duration. Only the listed
# functions are patched (set_ftrace_filter), so the tracer's own cost is per listed call, not
# per kernel function. Entry points: plain ip_forward (the forwarding after the route lookup),
# flowtable nf_flow_offload_inet_hook, ours tcf_classify (the flower lookup and every action,
# up to the peer veth's receive queue). Under QEMU's -icount shift=0 (docs/benchmarks.md) a
# duration is virtual time, 1 ns per guest instruction: instruction counts, which host load
# does not change. A parent's figure includes its traced children's tracing.
COMMON_FNS="__dev_queue_xmit veth_xmit"
declare -A GRAPH_FNS=(
    [plain]="ip_forward ip_forward_finish ip_output ip_finish_output2 neigh_resolve_output $COMMON_FNS"
    [flowtable]="nf_flow_offload_inet_hook nf_flow_offload_ip_hook flow_offload_lookup neigh_xmit $COMMON_FNS"
    [ours]="tcf_classify fl_classify __skb_flow_dissect tcf_action_exec tcf_pedit_act tcf_csum_act tcf_mirred_act $COMMON_FNS"
)
graph() { # graph MODE PORT
    local t=/sys/kernel/tracing fn
    [[ -d $t/options ]] || mount -t tracefs nodev "$t"
    echo 0 >"$t/tracing_on"
    echo nop >"$t/current_tracer"
    echo >"$t/set_ftrace_filter"
    local fns=${GRAPH_FNS[$1]}
    [[ $NTO_BENCH_GRAPH != entry ]] || fns=${fns%% *}
    for fn in $fns; do
        echo "$fn" >>"$t/set_ftrace_filter" 2>/dev/null || echo "(not traceable: $fn)"
    done
    echo "${GRAPH_FNS[$1]%% *}" >"$t/set_graph_function"
    echo 0 >"$t/max_graph_depth"
    echo 1 >"$t/options/funcgraph-tail"
    echo 0 >"$t/options/funcgraph-irqs"
    echo 32768 >"$t/buffer_size_kb"
    echo >"$t/trace"
    echo function_graph >"$t/current_tracer"
    setup "$1" "$2"
    (sleep 1; echo 1 >"$t/tracing_on"; sleep 0.5; echo 0 >"$t/tracing_on") &
    timeout -k 5 60 ip netns exec "$LAB_NS_CLIENT" iperf3 -c "$LAB_SERVER_IP4" -p "$LAB_TCP_PORT" \
        --cport "$2" -t 2 -J --connect-timeout 5000 >"$W/iperf.json" || lab_fail "iperf3 ($1, traced) failed"
    wait
    cat "$t/trace" >"$W/graph.$1" # before the tracer changes: that empties the buffer
    echo nop >"$t/current_tracer"
    echo >"$t/set_ftrace_filter"
    echo >"$t/set_graph_function"
    teardown "$1"
    echo "---- $1: function_graph under ${GRAPH_FNS[$1]%% *}, 0.5 s of a 2-s transfer"
    printf '%-34s %9s %12s %12s\n' function calls "mean ns" "total us"
    # Lines: " 0)               |  tcf_classify() {", " 0)   0.939 us    |    __skb_flow_dissect();",
    # " 0)   1.039 us    |      veth_xmit [veth]();", " 0) + 14.66 us   |  } /* tcf_classify */".
    # Counted: the entry and what runs inside it (the client's transmit nests the router's
    # receive on the guest's one CPU, so the same function also runs outside it).
    awk -v entry="${GRAPH_FNS[$1]%% *}" '/=>|<=/ { next }
    {
        d = ""; f = ""; kind = ""
        for (i = 1; i <= NF; i++) if ($(i + 1) == "us" && $i ~ /^[0-9.]+$/) { d = $i; break }
        if (match($0, /\/\* [^*]+ \*\//)) { f = substr($0, RSTART + 3, RLENGTH - 6); kind = "close" }
        else if (match($0, /[A-Za-z0-9_.]+( \[[^]]+\])?\(\) \{/)) { f = substr($0, RSTART, RLENGTH - 4); kind = "open" }
        else if (match($0, /[A-Za-z0-9_.]+( \[[^]]+\])?\(\);/)) { f = substr($0, RSTART, RLENGTH - 3); kind = "leaf" }
        sub(/ \[.*\]$/, "", f)
        if (f == "") next
        if (kind == "open") { if (f == entry) inside++; next }
        if (d != "" && (inside > 0 || f == entry)) { n[f]++; sum[f] += d }
        if (kind == "close" && f == entry && inside > 0) inside--
    }
    END {
        for (f in n) printf "%-34s %9d %12.0f %12.1f\n", f, n[f], sum[f] / n[f] * 1000, sum[f]
    }' "$W/graph.$1" | sort -k4,4nr
}
if [[ -n ${NTO_BENCH_GRAPH:-} ]]; then
    for mode in plain flowtable ours; do
        port=$((port + 1))
        graph "$mode" "$port"
    done
fi

awk -v modes="$MODES" -v mss="$(jq '.start.tcp_mss_default // 1448' "$W/iperf.json")" '
function median(arr, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}
{ c[$1]++; v[$1, c[$1]] = $3 }
END {
    k = split(modes, ms, " ")
    for (i = 1; i <= k; i++) {
        m = ms[i]
        for (j = 1; j <= c[m]; j++) a[j] = v[m, j]
        med[m] = median(a, c[m])
        printf "median %-9s %.3f Gbit/s\n", m, med[m]
    }
    printf "RESULT datapath_flowtable_vs_plain %.2f x\n", med["flowtable"] / med["plain"]
    printf "RESULT datapath_ours_vs_plain %.2f x\n", med["ours"] / med["plain"]
    for (i = 4; i <= k; i++)
        printf "%s / ours %.3f; per data segment of %d bytes: %+.0f ns\n", ms[i], med[ms[i]] / med["ours"], mss,
            mss * 8 / med[ms[i]] - mss * 8 / med["ours"]
    printf "RESULT datapath_ours_vs_flowtable %.2f x\n", med["ours"] / med["flowtable"]
}' "$W/runs"
