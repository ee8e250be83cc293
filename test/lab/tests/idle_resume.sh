#!/bin/bash
# lab.idle_resume — a connection whose rules idled out is offloaded again when it carries
# traffic (flow strategy, embedded defaults: veth is generic-flow).
#
# One TCP connection sends a byte every NTO_IDLE_GAP_S (45) seconds. It is offloaded at
# ESTABLISHED; its rules carry nothing for 30 s (idle_s), so the daemon deletes them and keeps
# the flow as `candidate (idle)`. The next byte goes through the stack; conntrack sets the
# entry's timeout again and raises no event, so only the daemon's idle recheck (a conntrack dump
# at most every 30 s while idle flows exist) can see it: asserted that the flow is offloaded
# again (both rules back) with idle_resumed >= 1, within 90 s of the byte, and that no echo was
# lost across it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 40; lab_teardown' EXIT
lab_require_cmd jq nft

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
CONNS=${NTO_CONNS:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/lab/tools/conns}
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
[[ -x $CONNS ]] || lab_fail "conns not built: $CONNS"
GAP=${NTO_IDLE_GAP_S:-45}
LOG=/tmp/nto-idle.log
W=$(mktemp -d /tmp/lab-idle.XXXXXX)
DPID=

lab_modprobe nf_conntrack nf_nat nft_chain_nat nft_masq cls_flower act_pedit act_csum \
    act_mirred act_gact sch_ingress nf_flow_table nf_flow_table_inet nft_flow_offload
lab_topology_up
lab_nft_flow_router masquerade
ip netns exec "$LAB_NS_SERVER" "$CONNS" serve 5401 >/dev/null 2>&1 &
LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
lab_wait_for 20 lab_tcp_listening 5401 || lab_fail "echo server on 5401"

cat >"$W/nto.conf" <<EOF
[daemon]
control_socket = $W/ctl.sock
EOF
ctl_j() { lab_router "$BIN" "$1" -j --socket "$W/ctl.sock" --timeout 60 "${@:2}"; }
# state and reason of the connection from port 41400
conn() { ctl_j flows | jq -r '[.flows[] | select(.original.sport == 41400)] | first | "\(.state) \(.reason // "-")"'; }
is() { [[ $(conn) == "$1" ]]; }
ip netns exec "$LAB_NS_ROUTER" "$BIN" run --config "$W/nto.conf" >"$LOG" 2>&1 &
DPID=$!
lab_wait_for 90 ctl_j status || lab_fail "the daemon did not answer"

ip netns exec "$LAB_NS_CLIENT" "$CONNS" tcp "$LAB_SERVER_IP4" 5401 1 41400 --interval $((GAP * 1000)) \
    --until "$W/stop" --ready "$W/ready" >"$W/c.out" 2>&1 &
cp=$!
lab_wait_for 30 test -e "$W/ready" || lab_fail "the connection did not open: $(cat "$W/c.out")"
t0=$SECONDS
lab_wait_for 30 is "offloaded -" || lab_fail "not offloaded: $(conn)"
echo "offloaded at ESTABLISHED"
lab_wait_for 60 is "candidate idle" || lab_fail "rules did not idle out: $(conn)"
echo "idle after $((SECONDS - t0)) s: $(ctl_j explain "$LAB_CLIENT_IP4" "$LAB_SERVER_IP4" tcp 41400 5401 | jq -r '.. | strings' | grep -m1 idle || true)"
((SECONDS - t0 < GAP)) || lab_fail "idle only after the next byte was due ($((SECONDS - t0)) s): raise NTO_IDLE_GAP_S"
# the next byte at t0 + GAP goes through the stack; the recheck must find it
lab_wait_for $((GAP + 90)) is "offloaded -" || {
    ctl_j status | jq -c '.flow | {tracked, offloaded, in_software_by_reason, conntrack: {dumps: .conntrack.dumps}}' >&2
    lab_fail "not offloaded again $((SECONDS - t0)) s after the first byte: $(conn)"
}
resumed=$(ctl_j status | jq '[.flow.flowtables[].idle_resumed] | add')
echo "offloaded again $((SECONDS - t0 - GAP)) s after the byte due at $GAP s; idle_resumed $resumed"
lab_assert_ge "$resumed" 1 "idle_resumed"
lab_assert_eq "$(lab_tc_cookie_filters "$LAB_NS_ROUTER" 6e746f01 "$LAB_ROUTER_CLIENT_DEV" "$LAB_ROUTER_SERVER_DEV")" 2 \
    "rules of ours after the resume"
touch "$W/stop"
wait "$cp" || lab_fail "echoes lost: $(cat "$W/c.out")"
echo "$(cat "$W/c.out")"
kill -TERM "$DPID"
wait "$DPID" || lab_fail "exit status after SIGTERM"
DPID=
echo PASS
