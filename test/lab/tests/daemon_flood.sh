#!/bin/bash
# lab.daemon_flood — a flood of conntrack events against a small receive buffer: the daemon's
# flow table ends equal to the kernel's conntrack table.
#
# 25,000 UDP flows client → server port 5999 (one datagram each from its own source port, the
# server echoing it): 25,000 NEW and 25,000 UPDATE (reply seen) events within seconds. The
# forward chain accepts port 5999 before `flow add` (an exclusion), so the daemon tracks every
# flow without installing 50,000 rules. The daemon's conntrack socket may grow only to 256 KiB
# (rcvbuf_max_kb = 256): the kernel drops events (ENOBUFS); the daemon must count the overrun,
# resync with a full dump, and end with exactly the kernel's set of flows. To be sure the buffer
# overflows, the daemon is stopped (SIGSTOP) while the flows are made, then continued.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 40; lab_teardown' EXIT
lab_require_cmd jq nft conntrack

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
CONNS=${NTO_CONNS:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/lab/tools/conns}
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
[[ -x $CONNS ]] || lab_fail "conns not built: $CONNS"
N=${NTO_FLOOD_FLOWS:-25000}
LOG=/tmp/nto-flood.log
W=$(mktemp -d /tmp/lab-flood.XXXXXX)
DPID=


lab_modprobe nf_conntrack nf_nat nft_chain_nat nft_masq cls_flower act_pedit act_csum \
    act_mirred act_gact nf_flow_table nf_flow_table_inet nft_flow_offload
sysctl -qw net.netfilter.nf_conntrack_max=262144
lab_topology_up
R=$LAB_NS_ROUTER
lab_nft_load <<EOF
table inet lab {
    flowtable ft {
        hook ingress priority 0
        devices = { $LAB_ROUTER_CLIENT_DEV, $LAB_ROUTER_SERVER_DEV }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        udp dport 5999 accept
        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF
# nothing expires while the tables are compared
lab_router sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600
lab_router sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=600

cat >"$W/nto.conf" <<EOF
[daemon]
control_socket = $W/ctl.sock
rcvbuf_max_kb = 256
EOF
ctl_j() { lab_router "$BIN" "$1" -j --socket "$W/ctl.sock" "${@:2}"; }
kernel_flows() { lab_router conntrack -L -p udp --orig-port-dst 5999 2>/dev/null | grep -c 'dport=5999' || true; }
daemon_flows() { ctl_j status | jq '.flow.tracked'; }
# the kernel keeps most of the flows (a burst overflows the veths' backlog now and then: those
# datagrams never reach conntrack); the daemon must end with exactly what the kernel has
tables_equal() {
    local k
    k=$(kernel_flows)
    ((k >= N * 9 / 10)) && [[ $(daemon_flows) -eq $k ]] && K=$k
}

ip netns exec "$LAB_NS_SERVER" "$CONNS" serve --udp 5999 >/dev/null 2>&1 &
LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
ip netns exec "$R" "$BIN" run --config "$W/nto.conf" >"$LOG" 2>&1 &
DPID=$!
lab_wait_for 90 ctl_j status || lab_fail "the daemon did not answer"
s=$(ctl_j status)
echo "ready: conntrack receive buffer $(jq '.flow.conntrack.rcvbuf' <<<"$s") bytes, tracked $(jq '.flow.tracked' <<<"$s")"

# The daemon is stopped (SIGSTOP) during the burst, as a busy daemon would be: the events
# pile up in its 256 KiB receive buffer until the kernel drops them.
kill -STOP "$DPID"
t0=$(date +%s%N)
out=$(ip netns exec "$LAB_NS_CLIENT" "$CONNS" burst "$LAB_SERVER_IP4" 5999 "$N" 20000) ||
    { kill -CONT "$DPID"; lab_fail "burst: $out"; }
t1=$(date +%s%N)
kill -CONT "$DPID"
echo "burst: $out in $(((t1 - t0) / 1000000)) ms while the daemon was stopped"
lab_wait_for 300 tables_equal || {
    echo "kernel $(kernel_flows), daemon $(daemon_flows) (of $N sent)" >&2
    lab_fail "the daemon's flow count did not reach the kernel's"
}
t2=$(date +%s%N)
s=$(ctl_j status)
ev=$(jq '.flow.conntrack.events' <<<"$s")
ovr=$(jq '.flow.conntrack.overruns' <<<"$s")
rs=$(jq '.flow.conntrack.resyncs' <<<"$s")
echo "converged $(((t2 - t1) / 1000000)) ms after the burst: $K of the $N flows in both tables;" \
    "events received $ev, overruns $ovr, resyncs $rs, receive buffer $(jq '.flow.conntrack.rcvbuf' <<<"$s")"
lab_assert_gt "$ovr" 0 "overruns counted (the buffer was meant to overflow)"
lab_assert_gt "$rs" 0 "resyncs after the overruns"
lab_assert_eq "$(jq '.flow.offloaded' <<<"$s")" 0 "offloaded (port 5999 is excluded)"
# in software: excluded by the port-5999 rule, or (echo lost in the burst) no reply seen yet
lab_assert_eq "$(jq '.flow.in_software' <<<"$s")" "$K" "flows in software"
echo "in software by reason: $(jq -c '.flow.in_software_by_reason' <<<"$s")"
# every flow for one of those two reasons (the share of lost echoes depends on the load: 9-21 %)
lab_assert_gt "$(jq '.flow.in_software_by_reason.excluded // 0' <<<"$s")" 0 "flows excluded"
lab_assert_eq "$(jq '(.flow.in_software_by_reason.excluded // 0) + (.flow.in_software_by_reason["udp-unreplied"] // 0)' <<<"$s")" \
    "$K" "flows excluded or unreplied"
# the same flows, not just as many: client ports from both tables
lab_router conntrack -L -p udp --orig-port-dst 5999 2>/dev/null |
    sed -nE 's/^.*sport=([0-9]+) dport=5999 .*/\1/p' | sort -n >"$W/kernel"
ctl_j flows --timeout 600 | jq -r '.flows[] | select(.original.dport == 5999) | .original.sport' | sort -n >"$W/daemon"
lab_assert_eq "$(wc -l <"$W/kernel")" "$K" "client ports in the kernel's table"
if ! cmp -s "$W/kernel" "$W/daemon"; then
    diff "$W/kernel" "$W/daemon" | sed -n 1,20p >&2
    lab_fail "the daemon's flows differ from the kernel's"
fi
echo "the daemon's $K flows are exactly the kernel's"
lab_router conntrack -F 2>/dev/null
lab_wait_for 120 sh -c "[ \$(ip netns exec $R $BIN status -j --socket $W/ctl.sock | jq '.flow.tracked') -eq 0 ]" ||
    lab_fail "after conntrack -F the daemon still tracks $(daemon_flows) flows"
echo "after conntrack -F (${N} DESTROY events): the daemon tracks 0"
kill -TERM "$DPID"
wait "$DPID" || lab_fail "exit status after SIGTERM"
DPID=
echo PASS
