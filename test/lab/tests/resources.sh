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
#  NTO_RES_LEFTOVERS=delete: conntrack entries still ESTABLISHED after the close (a lost close,
#     or a late packet of one, picked up as a new entry) are counted and deleted once the daemon
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
# 10,000 closes at once: beyond tcp_max_orphans the client's kernel resets connections instead
# of closing them, and veth's packets wait in a CPU's input backlog, netdev_max_backlog (1,000)
# long, dropped when it is full. A reset nobody retransmits, dropped there, left the server's
# end open and conntrack's entry ESTABLISHED: with the defaults, after one cycle of 10,000,
# 18,727 backlog drops, 2,313 resets, 1,084 server connections and 501 entries left
# (docs/reliability.md). Global sysctls, in the initial namespace only.
if ((N > 1000)); then
    sysctl -qw net.core.netdev_max_backlog=$((N * 4)) net.ipv4.tcp_max_orphans=$((N * 4))
fi
lab_nft_flow_router masquerade
# packets conntrack finds invalid, counted (before the daemon starts: a ruleset change later
# would make it plan again)
if [[ -n ${NTO_RES_KEEP:-} ]]; then
    lab_router nft add rule inet lab forward ct state invalid counter
    # NTO_RES_INVALID=1: the kernel log (kern.log) of every packet conntrack finds invalid
    # (and conntrack's reason where it logs one: nf_conntrack_log_invalid), of every TCP
    # packet the router's own stack receives (none should: the test's traffic is forwarded)
    # and of every reset it sends
    if [[ -n ${NTO_RES_INVALID:-} ]]; then
        lab_modprobe nf_log_syslog
        sysctl -qw net.netfilter.nf_log_all_netns=1
        lab_router sysctl -qw net.netfilter.nf_conntrack_log_invalid=6
        lab_router nft add rule inet lab forward ct state invalid log prefix '"nto-inv-fwd "' flags all
        lab_router nft add chain inet lab input '{ type filter hook input priority 0; }'
        lab_router nft add rule inet lab input meta l4proto tcp counter log prefix '"nto-in-tcp "' flags all
        lab_router nft add chain inet lab output '{ type filter hook output priority 0; }'
        lab_router nft add rule inet lab output tcp flags rst counter log prefix '"nto-out-rst "' flags all
        dmesg -w >"$NTO_RES_KEEP/kern.log" 2>&1 &
        LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
    fi
fi
# closed connections leave conntrack (and our rules) quickly: after 1 s, or 10 s beyond 1,000
# connections (10,000 FIN handshakes at once take the TCG VM longer than 1 s: entries expired
# mid-close, and the rest of the close met no entry; NTO_RES_CLOSE_TIMEOUT overrides)
close_timeout=${NTO_RES_CLOSE_TIMEOUT:-$((N > 1000 ? 10 : 1))}
for t in fin_wait close_wait last_ack time_wait close; do
    lab_router sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$t=$close_timeout"
done
# two echo servers: a cycle's connections never reuse an earlier cycle's addresses and ports
# (below)
for p in 5301 5302; do
    ip netns exec "$LAB_NS_SERVER" "$CONNS" serve $p >/dev/null 2>&1 &
    LAB_BG_PIDS="${LAB_BG_PIDS:-} $!"
    lab_wait_for 20 lab_tcp_listening $p || lab_fail "echo server on $p"
done

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
    local p n=0
    for p in 5301 5302; do
        n=$((n + $(lab_router conntrack -L -p tcp --dport $p ${1:+--state "$1"} 2>/dev/null | grep -c . || true)))
    done
    echo "$n"
}
# closing entries gone (1-s timeouts) and the daemon tracks exactly the ESTABLISHED ones left
settled() {
    lab_router conntrack -L >/dev/null 2>&1 || true
    local all est
    all=$(ct_left)
    est=$(ct_left ESTABLISHED)
    ((all == est)) && status_eq .flow.tracked "$est"
}
# the echo server's connections still open (their client is gone once the cycle is closed)
srv_est() {
    lab_server ss -Htn state established '( sport = :5301 or sport = :5302 )' | grep -c . || true
}
# packets the kernel dropped because a CPU's input backlog was full (all CPUs; veth delivers
# through it)
softnet_drops() {
    local n=0 d
    while read -r _ d _; do n=$((n + 0x$d)); done </proc/net/softnet_stat
    echo "$n"
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status"; }
# the smallest of 10 readings 0.3 s apart: a stats poll holds its rules' buffers for a moment
# (2 MB for 200 connections in the sanitizer build); a leak stays in every reading
rss_low() {
    local i r low=
    for ((i = 0; i < 10; i++)); do
        r=$(rss_kb)
        [[ -n $low ]] && ((low <= r)) || low=$r
        sleep 0.3
    done
    echo "$low"
}
fds() { find "/proc/$DPID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# what the daemon and conntrack hold, for a failure's message (and with NTO_RES_KEEP=DIR, a
# directory shared read-write with the host (test/lab/run --rw DIR): the daemon's log, the
# conntrack table, the flows, the test's nft table with its counters; the run also writes there
# every conntrack DESTROY event (ct-destroy.log) and each cycle's start time (cycles.log))
diag() {
    if [[ -n ${NTO_RES_KEEP:-} ]]; then
        cp "$LOG" "$NTO_RES_KEEP/daemon.log" || true
        lab_router conntrack -L -o id >"$NTO_RES_KEEP/conntrack.txt" 2>&1 || true
        ctl_j flows >"$NTO_RES_KEEP/flows.json" 2>&1 || true
        lab_router nft list table inet lab >"$NTO_RES_KEEP/ruleset.nft" 2>&1 || true
        dmesg >"$NTO_RES_KEEP/dmesg.txt" 2>&1 || true
    fi
    echo "---- status .flow:" >&2
    ctl_j status | jq -c '.flow | del(.flowtables)' >&2 || true
    echo "---- flows by state:" >&2
    ctl_j flows | jq -c '[.. | objects | select(has("state")) | .state] | group_by(.) | map({(.[0]): length}) | add' >&2 || true
    ctl_j flows | jq -c '[.. | objects | select(has("state"))] | .[:3]' >&2 || true
    echo "---- the echo server's established connections: $(srv_est); its open files: $(find /proc/"$(lab_server pgrep -f 'conns serve 5301' | head -n 1)"/fd -mindepth 1 2>/dev/null | wc -l); backlog drops: $(softnet_drops)" >&2
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
    # each cycle its own client ports (10000-59999 in ranges of N), then the second server
    # port: 10 cycles of 10,000 never reuse a connection's addresses and ports (once a suspect
    # for the failures at 10,000; the cause was closes the lab lost, docs/reliability.md)
    slots=$((50000 / N))
    ip netns exec "$LAB_NS_CLIENT" "$CONNS" tcp "$LAB_SERVER_IP4" $((5301 + (c - 1) / slots % 2)) "$N" $((10000 + (c - 1) % slots * N)) --interval "$INTERVAL" \
        --until "$W/stop" --ready "$W/ready" ${NTO_RES_CLOSE_BURST:+--close-burst "$NTO_RES_CLOSE_BURST"} >"$W/c.out" 2>&1 &
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
        # entries left ESTABLISHED: a close the lab lost (with the VM's own backlog and orphan
        # limits, thousands a cycle) or a late packet of one, picked up as a new entry (not
        # assured, 300 s; docs/reliability.md). Once conntrack's closing entries are gone and
        # the daemon tracks exactly what is left, those are deleted, and the daemon must then
        # drop them all (their DESTROY events).
        lab_wait_for "${NTO_RES_WAIT:-300}" settled || {
            diag
            lab_fail "cycle $c: conntrack and the daemon did not settle after the close: tracked $(ctl_j status | jq .flow.tracked)"
        }
        left=$(ct_left ESTABLISHED)
        echo "cycle $c: $left ESTABLISHED in conntrack after the close ($(lab_router conntrack -L -p tcp --state ESTABLISHED 2>/dev/null | grep -c ASSURED || true) assured); the server still has $(srv_est) connections open; backlog drops so far: $(softnet_drops); orphan resets so far: $(lab_client nstat -az TcpExtTCPAbortOnMemory | awk 'NR > 1 { print $2 }')"
        for p in 5301 5302; do
            lab_router conntrack -D -p tcp --dport $p --state ESTABLISHED >/dev/null 2>&1 || true
        done
    fi
    lab_wait_for "${NTO_RES_WAIT:-300}" none_tracked || {
        diag
        lab_fail "cycle $c: still tracked after the close: $(ctl_j status | jq .flow.tracked)"
    }
    lab_assert_eq "$(ours)" 0 "cycle $c: rules of ours after the close"
    RSS[c]=$(rss_low)
    echo "cycle $c: $N connections offloaded, echoed ($(cat "$W/c.out")), closed in $((SECONDS - t_c)) s; rss ${RSS[c]} KiB, $(fds) fds; the server holds $(srv_est) connections${NTO_RES_LEFTOVERS:+; $left left ESTABLISHED, deleted}"
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
