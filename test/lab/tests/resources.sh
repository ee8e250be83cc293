#!/bin/bash
# lab.resources — the daemon's memory and file descriptors stay flat:
#  1. NTO_RES_CYCLES (10) cycles of NTO_RES_CONNS (1,000; at most 10,000) TCP connections (a byte
#     each every NTO_RES_INTERVAL ms, 2,000) opened,
#     offloaded (flow strategy, embedded defaults: veth is generic-flow), echoed through tc and
#     closed: after each cycle the daemon tracks no connection and no rule of ours is left; the
#     daemon's resident memory after the last cycle is within 10% (+ 1 MiB) of its size after
#     the second (the first one grows the tables to their working size). The sanitizer build
#     runs without ASan's quarantine (see below), so a leak shows (a planted one did).
#  2. NTO_RES_RELOADS (100) reloads (SIGHUP), each waited for: the same number of open file
#     descriptors before and after, no reload failure.
#  NTO_RES_LEFTOVERS=delete: conntrack entries the kernel leaves ESTABLISHED after the close
#     (its software flowtable held them at the FIN) are counted and deleted once the daemon
#     tracks exactly those, and the daemon must then drop them; without it there must be none.
# CTest runs a short version (test/lab/CMakeLists.txt); the issue's figures (10 cycles of 10,000
# connections, 100 reloads) are a manual run, see docs/reliability.md.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap 'lab_daemon_cleanup "$LOG" 40; lab_teardown' EXIT
lab_require_cmd jq tc nft

BIN=${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/nft-tc-offload
CONNS=${NTO_CONNS:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/lab/tools/conns}
[[ -x $BIN ]] || lab_fail "nft-tc-offload not built: $BIN (set NTO_BUILD_DIR)"
[[ -x $CONNS ]] || lab_fail "conns not built: $CONNS"
CYCLES=${NTO_RES_CYCLES:-10}
N=${NTO_RES_CONNS:-1000}
RELOADS=${NTO_RES_RELOADS:-100}
# each connection sends a byte this often (ms): 10,000 connections every 2 s are 5,000 echoes
# a second, more than the TCG VM's one CPU carries beside the daemon
INTERVAL=${NTO_RES_INTERVAL:-2000}
((N <= 10000)) || lab_fail "NTO_RES_CONNS: at most 10000"
LOG=/tmp/nto-res.log
W=$(mktemp -d /tmp/lab-res.XXXXXX)
DPID=
ulimit -n $((N * 2 + 1024))

lab_modprobe nf_conntrack nf_nat nft_chain_nat nft_masq cls_flower act_pedit act_csum \
    act_mirred act_gact sch_ingress nf_flow_table nf_flow_table_inet nft_flow_offload
lab_topology_up
R=$LAB_NS_ROUTER
# the VM's conntrack table holds 8,192 entries by default (1 GiB of memory): beyond that new
# connections are dropped (a first run of 10,000 stopped at the 8,192nd connect). Global
# sysctl, writable in the initial namespace only.
ct_max=$((N * 2 + 4096))
ct_max0=$(sysctl -n net.netfilter.nf_conntrack_max)
if ((ct_max0 < ct_max)); then
    sysctl -qw net.netfilter.nf_conntrack_max=$ct_max
    echo "nf_conntrack_max: $ct_max0 -> $ct_max"
fi
lab_nft_flow_router masquerade
# packets conntrack finds invalid, counted (before the daemon starts: a ruleset change later
# would make it plan again)
[[ -z ${NTO_RES_KEEP:-} ]] || lab_router nft add rule inet lab forward ct state invalid counter
# closed connections leave conntrack (and our rules) quickly
for t in fin_wait close_wait last_ack time_wait close; do
    lab_router sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$t=1"
done
ip netns exec "$LAB_NS_SERVER" "$CONNS" serve 5301 >/dev/null 2>&1 &
LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
lab_wait_for 20 lab_tcp_listening 5301 || lab_fail "echo server on 5301"

cat >"$W/nto.conf" <<EOF
[daemon]
control_socket = $W/ctl.sock
EOF
ctl_j() { lab_router "$BIN" "$1" -j --socket "$W/ctl.sock" --timeout 120 "${@:2}"; }
status_ge() { [[ $(ctl_j status | jq "$1") -ge $2 ]]; }
status_eq() { [[ $(ctl_j status | jq "$1") -eq $2 ]]; }
# none tracked; first a conntrack dump in the router, which reaps the entries that expired (the
# kernel's gc worker gets to them only after up to a minute), so their DESTROY events come now
none_tracked() {
    lab_router conntrack -L >/dev/null 2>&1 || true
    status_eq .flow.tracked 0
}
# conntrack entries of the test's connections ([STATE]: in that state only)
ct_left() {
    lab_router conntrack -L -p tcp --dport 5301 ${1:+--state "$1"} 2>/dev/null | grep -c . || true
}
# closing entries gone (1-s timeouts) and the daemon tracks exactly the ESTABLISHED ones left
settled() {
    lab_router conntrack -L >/dev/null 2>&1 || true
    local all est
    all=$(ct_left)
    est=$(ct_left ESTABLISHED)
    ((all == est)) && status_eq .flow.tracked "$est"
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status"; }
fds() { find "/proc/$DPID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# what the daemon and conntrack hold, for a failure's message (and with NTO_RES_KEEP=DIR, a
# directory shared read-write with the host (test/lab/run --rw DIR): the daemon's log, the
# conntrack table, the flows, the forward chain's invalid counter; the run also writes there
# every conntrack DESTROY event (ct-destroy.log) and each cycle's start time (cycles.log))
diag() {
    if [[ -n ${NTO_RES_KEEP:-} ]]; then
        cp "$LOG" "$NTO_RES_KEEP/daemon.log" || true
        lab_router conntrack -L -o id >"$NTO_RES_KEEP/conntrack.txt" 2>&1 || true
        ctl_j flows >"$NTO_RES_KEEP/flows.json" 2>&1 || true
        lab_router nft list chain inet lab forward >"$NTO_RES_KEEP/forward.nft" 2>&1 || true
        dmesg >"$NTO_RES_KEEP/dmesg.txt" 2>&1 || true
    fi
    echo "---- status .flow:" >&2
    ctl_j status | jq -c '.flow | del(.flowtables)' >&2 || true
    echo "---- flows by state:" >&2
    ctl_j flows | jq -c '[.. | objects | select(has("state")) | .state] | group_by(.) | map({(.[0]): length}) | add' >&2 || true
    ctl_j flows | jq -c '[.. | objects | select(has("state"))] | .[:3]' >&2 || true
    echo "---- TCP resets and conntrack statistics (nstat, conntrack -S):" >&2
    for ns in "$LAB_NS_CLIENT" "$R" "$LAB_NS_SERVER"; do
        echo "$ns: $(ip netns exec "$ns" nstat -az TcpOutRsts TcpEstabResets TcpExtTCPAbortOnData 2>/dev/null | awk 'NR > 1 { printf "%s=%s ", $1, $2 }')" >&2
    done
    lab_router conntrack -S 2>/dev/null | awk '{ for (i = 2; i <= NF; i++) if ($i !~ /=0$/) printf "%s ", $i; print "" }' >&2 || true
    echo "---- router conntrack:" >&2
    lab_router conntrack -L 2>/dev/null | awk '{ print $1, $4 }' | sort | uniq -c >&2 || true
    lab_router conntrack -L 2>/dev/null | head -n 3 >&2 || true
}
# the NTO_RES_PERF profile, once it is taken
perf_pid=
perf_report() {
    [[ -n $perf_pid ]] || return 0
    wait "$perf_pid" || true
    perf_pid=
    echo "---- profile (${NTO_RES_PERF} s from the last connect, whole VM):"
    perf report -i "$W/perf.data" --stdio --no-children --sort comm,dso,symbol -g none \
        --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60 || true
    perf report -i "$W/perf.data" --stdio --no-children --sort comm -g none \
        2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 12 || true
    echo "---- the daemon's own share, by symbol:"
    perf report -i "$W/perf.data" --stdio --no-children --comms nft-tc-offload \
        --sort dso,symbol -g none --percent-limit 1 2>/dev/null | grep -v '^#' |
        grep -v '^$' | head -n 40 || true
}
ours() { lab_tc_cookie_filters "$R" 6e746f01 "$LAB_ROUTER_CLIENT_DEV" "$LAB_ROUTER_SERVER_DEV"; }

# ASan (the sanitizer build CI uses) keeps freed memory in a quarantine of up to 256 MiB before
# reusing it, so the resident size of a sanitized daemon grows with every allocation until the
# quarantine is full, leak or not: without it, freed memory is reused and the resident size
# follows what the daemon really holds. (A release build ignores the variable.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
    ip netns exec "$R" "$BIN" run --config "$W/nto.conf" >"$LOG" 2>&1 &
DPID=$!
lab_wait_for 90 ctl_j status || lab_fail "the daemon did not answer"
if [[ -n ${NTO_RES_KEEP:-} ]]; then
    # every conntrack entry's end, with its state then and who deleted it (USERSPACE portid)
    ip netns exec "$R" conntrack -E -e DESTROY -b 67108864 -o timestamp,id,userspace \
        >"$NTO_RES_KEEP/ct-destroy.log" 2>&1 &
    LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
fi
echo "start: rss $(rss_kb) KiB, $(fds) fds"

# ---- 1. cycles of N connections
declare -a RSS
for ((c = 1; c <= CYCLES; c++)); do
    rm -f "$W/ready" "$W/stop"
    t_c=$SECONDS
    [[ -z ${NTO_RES_KEEP:-} ]] || echo "cycle $c starts: $(date +%s.%N)" >>"$NTO_RES_KEEP/cycles.log"
    # a fresh range of client ports for each of 4 cycles in turn (the client's closed
    # sockets wait in TIME_WAIT for 60 s)
    ip netns exec "$LAB_NS_CLIENT" "$CONNS" tcp "$LAB_SERVER_IP4" 5301 "$N" $((20000 + (c - 1) % 4 * N)) --interval "$INTERVAL" \
        --until "$W/stop" --ready "$W/ready" >"$W/c.out" 2>&1 &
    cp=$!
    lab_wait_for 300 test -e "$W/ready" || lab_fail "cycle $c: connections did not open: $(cat "$W/c.out")"
    # NTO_RES_PERF=S: a system-wide profile of S seconds from here, in cycle 1 (diagnostics)
    if ((c == 1)) && [[ -n ${NTO_RES_PERF:-} ]]; then
        perf record -q -a -g -e cpu-clock -F 250 -o "$W/perf.data" -- sleep "$NTO_RES_PERF" \
            >/dev/null 2>&1 &
        perf_pid=$!
    fi
    lab_wait_for 300 status_ge .flow.offloaded "$N" || {
        perf_report
        diag
        echo "---- daemon log, warnings and errors:" >&2
        grep -Ev ': (install|delete): ' "$LOG" | tail -n 30 >&2 || true
        lab_fail "cycle $c: offloaded $(ctl_j status | jq .flow.offloaded) of $N"
    }
    perf_report
    touch "$W/stop"
    wait "$cp" || {
        diag
        lab_fail "cycle $c: echoes lost: $(cat "$W/c.out")"
    }
    left=0
    if [[ ${NTO_RES_LEFTOVERS:-} == delete ]]; then
        # the kernel's own leftovers: entries its software flowtable held at the FIN may stay
        # ESTABLISHED (5 days) although both ends closed (about 29% of 10,000 in 6.1 without
        # the daemon running; docs/reliability.md). Once conntrack's closing entries are gone
        # and the daemon tracks exactly what is left, those are deleted, and the daemon must
        # then drop them all (their DESTROY events).
        lab_wait_for "${NTO_RES_WAIT:-300}" settled || {
            diag
            lab_fail "cycle $c: conntrack and the daemon did not settle after the close: tracked $(ctl_j status | jq .flow.tracked)"
        }
        left=$(ct_left ESTABLISHED)
        lab_router conntrack -D -p tcp --dport 5301 --state ESTABLISHED >/dev/null 2>&1 || true
    fi
    lab_wait_for "${NTO_RES_WAIT:-300}" none_tracked || {
        diag
        lab_fail "cycle $c: still tracked after the close: $(ctl_j status | jq .flow.tracked)"
    }
    lab_assert_eq "$(ours)" 0 "cycle $c: rules of ours after the close"
    RSS[c]=$(rss_kb)
    echo "cycle $c: $N connections offloaded, echoed ($(cat "$W/c.out")), closed in $((SECONDS - t_c)) s; rss ${RSS[c]} KiB, $(fds) fds${NTO_RES_LEFTOVERS:+; $left left ESTABLISHED by the kernel, deleted}"
done
if ((CYCLES >= 3)); then
    limit=$((RSS[2] * 11 / 10 + 1024))
    echo "rss after cycle 2: ${RSS[2]} KiB, after cycle $CYCLES: ${RSS[CYCLES]} KiB (limit $limit)"
    ((RSS[CYCLES] <= limit)) ||
        lab_fail "resident memory after cycle $CYCLES: ${RSS[CYCLES]} KiB, more than cycle 2's + 10% + 1 MiB ($limit KiB)"
fi

# ---- 2. reloads
f0=$(fds)
m0=$(rss_kb)
r0=$(ctl_j status | jq .reloads)
t_c=$SECONDS
for ((i = 1; i <= RELOADS; i++)); do
    kill -HUP "$DPID"
    lab_wait_for 30 status_ge .reloads $((r0 + i)) || lab_fail "reload $i did not happen"
done
f1=$(fds)
echo "$RELOADS reloads in $((SECONDS - t_c)) s: $f0 fds before, $f1 after; rss $m0 KiB before, $(rss_kb) KiB after"
lab_assert_eq "$f1" "$f0" "open file descriptors after $RELOADS reloads"
lab_assert_eq "$(ctl_j status | jq .reload_failures)" 0 "reload failures"
kill -TERM "$DPID"
wait "$DPID" || lab_fail "exit status after SIGTERM"
DPID=
echo PASS
