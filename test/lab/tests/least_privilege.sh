#!/bin/bash
# lab.least_privilege — `nft-tc-offload run` needs CAP_NET_ADMIN and nothing else: started by
# capsh as uid nobody with only CAP_NET_ADMIN in its effective, permitted, inheritable,
# ambient and bounding sets (ct strategy, source = kernel, generic-ct forced on both router
# ports), it
#  1. starts, installs its rules (our cookie in the kernel, as many as status counts) and answers
#     status; /proc shows uid 65534 and capability sets of exactly CAP_NET_ADMIN;
#  2. follows a live ruleset change (the nftables monitor works without root);
#  3. its control socket is mode 0600, owned by the daemon's uid: another uid is refused
#     ("Permission denied");
#  4. after a SIGHUP with control_mode = 0660 and control_group = nogroup: a uid in that group
#     is answered, a uid outside it still refused;
#  5. SIGTERM: exit 0, every rule of ours removed, the socket gone; its log has no "Operation
#     not permitted" / "Permission denied".
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "${LOG:-}" 60; lab_teardown' EXIT
lab_require_cmd jq tc nft capsh setpriv

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
COOKIE=6e746f01
DIR=/tmp/nto-lp # the daemon's own directory (its RuntimeDirectory under systemd)
SOCK=$DIR/control.sock
CONF=/tmp/nto-lp.conf
LOG=/tmp/nto-lp.log
NOBODY=65534
NOGROUP=65534
DPID=

lab_modprobe cls_flower act_ct act_gact act_pedit act_csum act_mirred nf_flow_table \
    nf_flow_table_inet nft_flow_offload
lab_topology_up
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
        tcp dport 5202 drop
        meta l4proto { tcp, udp } flow add @ft
    }
}
EOF

write_conf() { # write_conf [EXTRA DAEMON KEYS...]
    {
        printf '[daemon]\nsource = kernel\ncontrol_socket = %s\nlog_level = debug\n' "$SOCK"
        printf 'debounce_ms = 300\n'
        printf '%s\n' "$@"
        printf '\n[device %s]\nprofile = generic-ct\n\n[device %s]\nprofile = generic-ct\n' \
            "$CLI" "$SRV"
    } >"$CONF"
    chmod 0644 "$CONF"
}
write_conf
mkdir -p "$DIR"
chown "$NOBODY:$NOGROUP" "$DIR"
chmod 0755 "$DIR"
: >"$LOG"

# as_uid UID [GID [GROUPS]] CMD... — CMD as that uid (no capabilities: a uid change drops them)
as_uid() {
    local uid=$1 gid=$2 groups=$3
    shift 3
    if [[ -n $groups ]]; then
        setpriv --reuid "$uid" --regid "$gid" --groups "$groups" "$@"
    else
        setpriv --reuid "$uid" --regid "$gid" --clear-groups "$@"
    fi
}
ctl_j() { as_uid "$NOBODY" "$NOGROUP" "" "$BIN" "$1" -j --socket "$SOCK" "${@:2}"; }
ours() { lab_tc_cookie_filters "$LAB_NS_ROUTER" "$COOKIE" "$CLI" "$SRV"; }
capmask() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# every capability but CAP_NET_ADMIN (12), as capsh names them, for the bounding set
last=$(cat /proc/sys/kernel/cap_last_cap)
drop=$(capsh --decode="$(printf '0x%x' $(((1 << (last + 1)) - 1 - (1 << 12))))" | sed 's/.*=//')
[[ $drop == *cap_sys_admin* && $drop != *cap_net_admin* ]] || lab_fail "capsh --decode: $drop"

# ---- 1. start as nobody with CAP_NET_ADMIN only
# capsh: drop every other capability from the bounding set (needs CAP_SETPCAP, still ours),
# keep CAP_NET_ADMIN (+ what the uid switch needs) across setuid, make CAP_NET_ADMIN ambient
# so it survives the exec of the daemon; `--` runs bash, which execs the daemon (the pid stays).
ip netns exec "$LAB_NS_ROUTER" capsh --drop="$drop" \
    --caps="cap_net_admin+eip cap_setpcap,cap_setuid,cap_setgid+ep" --keep=1 \
    --user=nobody --addamb=cap_net_admin -- -c "exec $BIN run --config $CONF" >>"$LOG" 2>&1 &
DPID=$!
lab_wait_for 90 ctl_j status || lab_fail "1: the daemon (as nobody, CAP_NET_ADMIN only) did not answer on $SOCK"
st=$(ctl_j status)
lab_assert_eq "$(jq .pid <<<"$st")" "$DPID" "1: the pid the daemon reports"
uid=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$DPID/status")
lab_assert_eq "$uid" "$NOBODY $NOBODY $NOBODY $NOBODY" "1: the daemon's uids (real, effective, saved, fs)"
for set in CapEff CapPrm CapInh CapAmb CapBnd; do
    lab_assert_eq "$(capmask "$DPID" "$set")" 0000000000001000 "1: the daemon's $set (CAP_NET_ADMIN only)"
done
echo "1: daemon pid $DPID: uid $NOBODY, CapEff/CapPrm/CapInh/CapAmb/CapBnd = 0x1000 (cap_net_admin)"
c0=$(jq .ct.rules_chain0 <<<"$st")
c1=$(jq .ct.rules_chain1 <<<"$st")
echo "1: chain 0 $c0 rules, chain 1 $c1 rules; status last_error: $(jq -c .last_error <<<"$st")"
lab_assert_gt "$c0" 0 "1: chain-0 rules"
lab_assert_gt "$c1" 0 "1: chain-1 rules"
lab_assert_eq "$(ours)" $((c0 + c1)) "1: rules with our cookie in the kernel"
lab_assert_eq "$(jq -r .last_error <<<"$st")" null "1: status last_error"

# ---- 2. live following (NFNLGRP_NFTABLES and the ruleset listing) without root
lab_assert lab_router nft insert rule inet lab forward udp dport 5300 accept
lab_wait_for 20 sh -c "[ \$(setpriv --reuid $NOBODY --regid $NOGROUP --clear-groups $BIN status -j --socket $SOCK | jq .ct.rules_chain0) -gt $c0 ]" ||
    lab_fail "2: the live ruleset change was not applied within 20 s"
c0b=$(ctl_j status | jq .ct.rules_chain0)
echo "2: live change applied: chain 0 $c0 -> $c0b"
lab_assert_eq "$(ours)" $((c0b + c1)) "2: rules with our cookie after the change"

# ---- 3. the socket: 0600, the daemon's, another uid refused
lab_assert_eq "$(stat -c '%a %u %g' "$SOCK")" "600 $NOBODY $NOGROUP" "3: socket mode, owner, group"
rc=0
out=$(as_uid 1234 1234 "" "$BIN" status --socket "$SOCK" 2>&1) || rc=$?
echo "3: uid 1234: exit $rc: $out"
lab_assert_eq "$rc" 1 "3: exit status of status as another uid"
lab_assert_match "$out" "cannot reach the daemon at $SOCK: Permission denied" "3: the refusal"

# ---- 4. read access for a group: control_mode 0660, control_group nogroup (reload)
write_conf "control_mode = 0660" "control_group = nogroup"
r0=$(ctl_j status | jq .reloads)
kill -HUP "$DPID"
lab_wait_for 30 sh -c "[ \$(setpriv --reuid $NOBODY --regid $NOGROUP --clear-groups $BIN status -j --socket $SOCK | jq .reloads) -gt $r0 ]" ||
    lab_fail "4: no reload within 30 s"
lab_assert_eq "$(stat -c '%a %u %g' "$SOCK")" "660 $NOBODY $NOGROUP" "4: socket mode, owner, group"
out=$(as_uid 1234 1234 "$NOGROUP" "$BIN" status -j --socket "$SOCK") ||
    lab_fail "4: uid 1234 in group nogroup was refused"
lab_assert_eq "$(jq .pid <<<"$out")" "$DPID" "4: status for a member of the group"
rc=0
out=$(as_uid 1235 1235 "" "$BIN" status --socket "$SOCK" 2>&1) || rc=$?
echo "4: uid 1235 (not in the group): exit $rc: $out"
lab_assert_eq "$rc" 1 "4: exit status for a uid outside the group"
lab_assert_match "$out" "Permission denied" "4: the refusal"
lab_assert_eq "$(ours)" $((c0b + c1)) "4: rules with our cookie after the reload"
# a reload naming a group that does not exist is refused as a whole: the old socket stays
write_conf "control_mode = 0660" "control_group = nto-no-such-group"
f0=$(ctl_j status | jq .reload_failures)
kill -HUP "$DPID"
lab_wait_for 30 sh -c "[ \$(setpriv --reuid $NOBODY --regid $NOGROUP --clear-groups $BIN status -j --socket $SOCK | jq .reload_failures) -gt $f0 ]" ||
    lab_fail "4: the reload with a missing group was not refused (or the socket is gone)"
st=$(ctl_j status)
echo "4: reload with a missing group: $(jq -r .last_error <<<"$st")"
lab_assert_match "$(jq -r .last_error <<<"$st")" "control socket" "4: last_error after the refused reload"
lab_assert_eq "$(stat -c '%a %u %g' "$SOCK")" "660 $NOBODY $NOGROUP" "4: the socket after the refused reload"
lab_assert_eq "$(ours)" $((c0b + c1)) "4: rules with our cookie after the refused reload"

# ---- 5. SIGTERM removes everything of ours
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
DPID=
lab_assert_eq "$rc" 0 "5: exit status after SIGTERM"
lab_assert_eq "$(ours)" 0 "5: rules with our cookie after SIGTERM"
[[ ! -e $SOCK ]] || lab_fail "5: the control socket is still there"
if grep -Ei 'not permitted|permission denied|EPERM|EACCES' "$LOG"; then
    lab_fail "5: the daemon logged a permission failure (above)"
fi
grep -E 'removed [0-9]+ rules' "$LOG" || true
echo PASS
