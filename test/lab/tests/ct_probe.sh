#!/bin/bash
# lab.ct_probe — the ct runtime's per-device capability probe (include/nft-tc-offload/probe.h):
# test rules in the reserved chain 0x0ffffff0 (268435440), pref 0xfff0 (65520) of each ct
# device's clsact ingress, read back and deleted before any rule of the plan is built.
#
# The router's ruleset: a software flowtable on both router ports and `meta l4proto { tcp,
# udp } flow add @ft`, masquerade towards the server (so chain 0 uses `action ct nat`); the
# daemon runs in the router namespace with generic-ct forced on both veths (as daemon_ct.sh).
#
#  b. act_ct not loaded and module autoloading disabled (/proc/sys/kernel/modprobe pointed at a
#     path that does not exist, so the kernel's request_module("act_ct") fails): `status` shows
#     the probe's act_ct and act_ct nat tests failed with the kernel's extack ("Failed to load
#     TC action module") while flower and every ct_state flag worked, the flowtable is refused
#     with "probe: act_ct refused on DEV: <extack> (<errno text>)", no filter of ours is
#     installed on either port, none is left at the reserved pref, and act_ct is still not
#     loaded. SIGTERM.
#  a. autoloading restored, act_ct loaded, the daemon started again: every probed feature of
#     both ports works, no flowtable is refused, chain 0 and chain 1 are installed, a ping
#     still crosses the router, and nothing is left at the reserved pref. SIGTERM: nothing of
#     ours remains.
# (b runs first: act_ct cannot be unloaded reliably once act_ct rules have existed.)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
lab_require_cmd jq tc nft

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
COOKIE=6e746f01 # "nto" + version 1: the start of every cookie of ours
PROBE_PREF=65520
PROBE_CHAIN=268435440
SOCK=/tmp/nto-probe.sock
CONF=/tmp/nto-probe.conf
LOG=/tmp/nto-probe.log
MODPROBE_SAVED=$(cat /proc/sys/kernel/modprobe)
DPID=

cleanup() {
    local rc=$?
    echo "$MODPROBE_SAVED" >/proc/sys/kernel/modprobe
    if ((rc != 0)) && [[ -f $LOG ]]; then
        echo "---- daemon log (last 60 lines)" >&2
        tail -n 60 "$LOG" >&2
    fi
    [[ -n $DPID ]] && kill "$DPID" 2>/dev/null
    lab_teardown
    return 0
}
trap cleanup EXIT

# everything the scenario needs except act_ct, before autoloading goes away
lab_modprobe cls_flower sch_ingress act_gact act_pedit act_csum act_mirred nf_flow_table \
    nf_flow_table_inet nft_flow_offload
lab_module_loaded act_ct && lab_fail "act_ct is loaded before the scenario (cannot test (b))"
lab_topology_up
R=$LAB_NS_ROUTER
CLI=$LAB_ROUTER_CLIENT_DEV
SRV=$LAB_ROUTER_SERVER_DEV

lab_nft_load <<EOF
table inet lab {
    flowtable ft {
        hook ingress priority 0
        devices = { $CLI, $SRV }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto { tcp, udp } flow add @ft
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$SRV" masquerade
    }
}
EOF

cat >"$CONF" <<EOF
[daemon]
source = kernel
control_socket = $SOCK
log_level = debug

[device $CLI]
profile = generic-ct

[device $SRV]
profile = generic-ct
EOF

ctl_j() { lab_router "$BIN" "$1" -j --socket "$SOCK" "${@:2}"; }
ours() { lab_tc_cookie_filters "$R" "$COOKIE" "$CLI" "$SRV"; }
at_probe_pref() { # filters at the reserved pref (any chain, both hooks) of both ports, and
    # the reserved chains
    local n=0 d h
    for d in "$CLI" "$SRV"; do
        for h in ingress egress; do
            n=$((n + $(lab_router tc -j filter show dev "$d" "$h" |
                jq --argjson p "$PROBE_PREF" '[.[] | select(.pref == $p)] | length')))
        done
        n=$((n + $(lab_router tc -j filter show dev "$d" ingress chain "$PROBE_CHAIN" |
            jq 'length')))
        # the reserved chain and the goto test's target must be gone with their rules
        n=$((n + $(lab_router tc -j chain show dev "$d" ingress |
            jq --argjson c "$PROBE_CHAIN" '[.[] | select(.chain == $c or .chain == $c + 1)]
                | length')))
    done
    echo "$n"
}
start_daemon() {
    : >"$LOG"
    # not through lab_router: $! must be the daemon itself (ip netns exec execs it)
    ip netns exec "$R" "$BIN" run --config "$CONF" >>"$LOG" 2>&1 &
    DPID=$!
    lab_wait_for 90 lab_router "$BIN" status --socket "$SOCK" >/dev/null ||
        lab_fail "$1: the daemon did not answer on $SOCK"
}
stop_daemon() {
    local rc=0
    kill -TERM "$DPID"
    wait "$DPID" || rc=$?
    DPID=
    lab_assert_eq "$rc" 0 "$1: the daemon's exit status after SIGTERM"
}
feature() { # feature STATUS DEV KEY FIELD
    jq -r --arg d "$2" --arg k "$3" --arg f "$4" \
        '.ct.probes[] | select(.name == $d) | .features[$k][$f]' <<<"$1"
}

# ---- b. act_ct refused by the kernel
echo /nonexistent/nto-lab-modprobe >/proc/sys/kernel/modprobe
start_daemon b
st=$(ctl_j status)
lab_assert_eq "$(jq '.ct.probes | length' <<<"$st")" 2 "b: devices probed"
for d in "$CLI" "$SRV"; do
    for k in flower ct_state_trk ct_state_est ct_state_new ct_state_rpl ct_state_rel \
        ct_state_inv ct_zone_match goto_chain; do
        lab_assert_eq "$(feature "$st" "$d" $k ok)" true "b: $d $k works without act_ct"
    done
    for k in ct ct_nat; do
        lab_assert_eq "$(feature "$st" "$d" $k ok)" false "b: $d $k"
        lab_assert_eq "$(feature "$st" "$d" $k extack)" "Failed to load TC action module" \
            "b: $d $k: the kernel's extack"
        lab_assert_eq "$(feature "$st" "$d" $k error)" "No such file or directory" \
            "b: $d $k: errno"
    done
    lab_assert_eq "$(jq -r --arg d "$d" '.ct.probes[] | select(.name == $d) | .ok' <<<"$st")" \
        false "b: $d probe ok"
    lab_assert_eq "$(jq -r --arg d "$d" '.ct.probes[] | select(.name == $d) | .leftovers' \
        <<<"$st")" 0 "b: $d probe leftovers"
done
lab_assert_eq "$(jq '.ct.refused_flowtables | length' <<<"$st")" 1 "b: refused flowtables"
lab_assert_eq "$(jq -r '.ct.refused_flowtables[0].flowtable' <<<"$st")" "inet lab ft" \
    "b: the refused flowtable"
reason=$(jq -r '.ct.refused_flowtables[0].reason' <<<"$st")
echo "b: refused: $reason"
lab_assert_match "$reason" \
    "^probe: act_ct refused on ($CLI|$SRV): Failed to load TC action module \(No such file or directory\)$" \
    "b: the refusal names act_ct, the device and the kernel's extack"
lab_assert_eq "$(jq '.ct.rules_chain0 + .ct.rules_chain1' <<<"$st")" 0 "b: rules of ours (status)"
lab_assert_eq "$(jq '.ct.refused' <<<"$st")" 0 "b: rules the kernel refused (none attempted)"
lab_assert_eq "$(ours)" 0 "b: filters with our cookie on both ports"
lab_assert_eq "$(at_probe_pref)" 0 "b: filters left at the reserved pref/chain"
lab_module_loaded act_ct && lab_fail "b: act_ct got loaded although autoloading is disabled"
lab_assert grep -q "probe: act_ct refused on" "$LOG"
echo "b: $(jq -c --arg d "$CLI" '.ct.probes[] | select(.name == $d) | .features.ct' <<<"$st")"
stop_daemon b

# ---- a. everything works
echo "$MODPROBE_SAVED" >/proc/sys/kernel/modprobe
lab_modprobe act_ct
start_daemon a
st=$(ctl_j status)
lab_assert_eq "$(jq '.ct.probes | length' <<<"$st")" 2 "a: devices probed"
for d in "$CLI" "$SRV"; do
    lab_assert_eq "$(jq -r --arg d "$d" '.ct.probes[] | select(.name == $d) | .ok' <<<"$st")" \
        true "a: $d probe ok"
    # every feature but skip_sw (generic-ct does not install with skip_sw)
    lab_assert_eq "$(jq --arg d "$d" '.ct.probes[] | select(.name == $d) | .features
        | [to_entries[] | select(.value.ok)] | length' <<<"$st")" 11 "a: $d features that work"
    lab_assert_eq "$(feature "$st" "$d" skip_sw ok)" null "a: $d skip_sw not tested"
done
lab_assert_eq "$(jq '.ct.refused_flowtables | length' <<<"$st")" 0 "a: refused flowtables"
c0=$(jq '.ct.rules_chain0' <<<"$st")
c1=$(jq '.ct.rules_chain1' <<<"$st")
echo "a: probes ok on $CLI and $SRV; chain 0 $c0 rules, chain 1 $c1 rules"
lab_assert_gt "$c0" 0 "a: chain-0 rules"
lab_assert_gt "$c1" 0 "a: chain-1 rules"
lab_assert_eq "$(ours)" $((c0 + c1)) "a: filters with our cookie on both ports"
lab_assert_eq "$(at_probe_pref)" 0 "a: filters left at the reserved pref/chain"
lab_assert lab_ping "$LAB_NS_CLIENT" "$LAB_SERVER_IP4"
echo "a: $(jq -c --arg d "$CLI" '.ct.probes[] | select(.name == $d) | .features.ct_nat' <<<"$st")"
stop_daemon a
lab_assert_eq "$(ours)" 0 "a: filters with our cookie after SIGTERM"
lab_assert_eq "$(at_probe_pref)" 0 "a: filters at the reserved pref after SIGTERM"
echo PASS
