# shellcheck shell=bash
# test/lab/lib.sh — helpers for lab scenarios. Source it from a bash script that runs
# inside the lab VM (test/lab/run SCRIPT); it refuses to run anywhere else.
#
# Topology built by lab_topology_up (all private addresses, all inside the VM):
#
#   ns $LAB_NS_CLIENT            ns $LAB_NS_ROUTER                      ns $LAB_NS_SERVER
#   $LAB_CLIENT_DEV  <--veth-->  $LAB_ROUTER_CLIENT_DEV  $LAB_ROUTER_SERVER_DEV  <--veth-->  $LAB_SERVER_DEV
#   10.0.1.2/24                  10.0.1.1/24             10.0.2.1/24                10.0.2.2/24
#   fd00:1::2/64                 fd00:1::1/64            fd00:2::1/64               fd00:2::2/64
#
# The client's and server's default routes point at the router, which forwards IPv4
# and IPv6. TSO/GSO/GRO are off on all four veths, so interface counters, tc action
# counters and nft counters count the same packets.
#
# Conventions: functions print progress on stderr ("lab: ..."); lab_fail and the
# lab_assert_* helpers print "FAIL: ..." and exit 1. Scenarios normally start with
#   set -euo pipefail
#   source "$(dirname "$0")/../lib.sh"      # or wherever lib.sh is
#   lab_require_vm
#   trap lab_teardown EXIT
#   lab_topology_up

# ---------------------------------------------------------------- names and addresses
LAB_NS_CLIENT=lab-client
LAB_NS_ROUTER=lab-router
LAB_NS_SERVER=lab-server

LAB_CLIENT_DEV=cli0        # in $LAB_NS_CLIENT, peer of $LAB_ROUTER_CLIENT_DEV
LAB_ROUTER_CLIENT_DEV=rt-cli # in $LAB_NS_ROUTER, faces the client
LAB_ROUTER_SERVER_DEV=rt-srv # in $LAB_NS_ROUTER, faces the server
LAB_SERVER_DEV=srv0        # in $LAB_NS_SERVER, peer of $LAB_ROUTER_SERVER_DEV

LAB_CLIENT_IP4=10.0.1.2
LAB_ROUTER_CLIENT_IP4=10.0.1.1
LAB_ROUTER_SERVER_IP4=10.0.2.1
LAB_SERVER_IP4=10.0.2.2
LAB_CLIENT_NET4=10.0.1.0/24
LAB_SERVER_NET4=10.0.2.0/24

LAB_CLIENT_IP6=fd00:1::2
LAB_ROUTER_CLIENT_IP6=fd00:1::1
LAB_ROUTER_SERVER_IP6=fd00:2::1
LAB_SERVER_IP6=fd00:2::2
LAB_CLIENT_NET6=fd00:1::/64
LAB_SERVER_NET6=fd00:2::/64

LAB_TCP_PORT=5201 # iperf3 server port in $LAB_NS_SERVER

export LAB_NS_CLIENT LAB_NS_ROUTER LAB_NS_SERVER \
    LAB_CLIENT_DEV LAB_ROUTER_CLIENT_DEV LAB_ROUTER_SERVER_DEV LAB_SERVER_DEV \
    LAB_CLIENT_IP4 LAB_ROUTER_CLIENT_IP4 LAB_ROUTER_SERVER_IP4 LAB_SERVER_IP4 \
    LAB_CLIENT_NET4 LAB_SERVER_NET4 \
    LAB_CLIENT_IP6 LAB_ROUTER_CLIENT_IP6 LAB_ROUTER_SERVER_IP6 LAB_SERVER_IP6 \
    LAB_CLIENT_NET6 LAB_SERVER_NET6 LAB_TCP_PORT

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LAB_LIB_DIR

# ---------------------------------------------------------------- messages and assertions
lab_log() { printf 'lab: %s\n' "$*" >&2; }

lab_fail() { # lab_fail MESSAGE — print FAIL: MESSAGE and exit 1
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

lab_assert() { # lab_assert CMD [ARGS...] — CMD must succeed
    "$@" || lab_fail "command failed (status $?): $*"
}

lab_assert_eq() { # lab_assert_eq ACTUAL EXPECTED WHAT
    [[ $1 == "$2" ]] || lab_fail "${3:-value}: expected '$2', got '$1'"
}

lab_assert_int() { # lab_assert_int VALUE WHAT — VALUE must be a decimal integer
    [[ $1 =~ ^-?[0-9]+$ ]] || lab_fail "${2:-value}: not a number: '$1'"
}

lab_assert_ge() { # lab_assert_ge ACTUAL MIN WHAT
    lab_assert_int "$1" "${3:-value}"
    (($1 >= $2)) || lab_fail "${3:-value}: expected >= $2, got $1"
}

lab_assert_gt() { # lab_assert_gt ACTUAL BOUND WHAT
    lab_assert_int "$1" "${3:-value}"
    (($1 > $2)) || lab_fail "${3:-value}: expected > $2, got $1"
}

lab_assert_match() { # lab_assert_match TEXT EXTENDED-REGEX WHAT
    grep -Eq -- "$2" <<<"$1" || lab_fail "${3:-text} does not match /$2/; got:
$1"
}

lab_require_vm() { # refuse to touch a machine that is not the lab VM
    [[ ${NTO_LAB_VM:-} == 1 ]] ||
        lab_fail "this scenario runs inside the lab VM only: test/lab/run $0"
    [[ $(id -u) == 0 ]] || lab_fail "the lab VM runs scenarios as root"
}

lab_require_cmd() { # lab_require_cmd CMD... — each must be on PATH (host's packages)
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || lab_fail "'$c' is not installed on the host (it is shared into the VM)"
    done
}

lab_wait_for() { # lab_wait_for SECONDS CMD [ARGS...] — retry CMD every 0.1 s until it succeeds
    local limit=$1 deadline
    shift
    deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

lab_nft_counter_packets() { # lab_nft_counter_packets FAMILY TABLE NAME — a named counter's
    # packets, in the router ns
    lab_router nft -j list counter "$1" "$2" "$3" |
        jq -e '[.nftables[] | select(.counter) | .counter.packets] | first' ||
        lab_fail "cannot read nft counter $1 $2 $3 in $LAB_NS_ROUTER"
}

lab_dev_rx_packets() { # lab_dev_rx_packets NS DEV — the interface's rx_packets
    lab_ns "$1" cat "/sys/class/net/$2/statistics/rx_packets"
}

# ---------------------------------------------------------------- modules
lab_modprobe() { # lab_modprobe MODULE... — load each, fail with the module's name
    local m
    for m in "$@"; do
        modprobe "$m" || lab_fail "modprobe $m failed (kernel $(uname -r))"
    done
}

lab_module_loaded() { # lab_module_loaded MODULE — loaded (or built in)?
    [[ -d /sys/module/${1//-/_} ]]
}

# ---------------------------------------------------------------- namespaces
lab_ns() { # lab_ns NS CMD [ARGS...]
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}
lab_client() { lab_ns "$LAB_NS_CLIENT" "$@"; }
lab_router() { lab_ns "$LAB_NS_ROUTER" "$@"; }
lab_server() { lab_ns "$LAB_NS_SERVER" "$@"; }

lab_ping() { # lab_ping NS ADDRESS — one echo request/reply (busybox ping: no iputils needed)
    local fam=-4
    [[ $2 == *:* ]] && fam=-6
    lab_ns "$1" busybox ping "$fam" -c 1 -W 1 "$2" >/dev/null 2>&1
}

lab_topology_up() { # build the client — router — server topology described above
    local ns dev
    lab_require_cmd ip ethtool busybox
    lab_modprobe veth
    for ns in "$LAB_NS_CLIENT" "$LAB_NS_ROUTER" "$LAB_NS_SERVER"; do
        ip netns add "$ns" || lab_fail "ip netns add $ns"
        ip -n "$ns" link set lo up
        # Addresses are usable at once (no DAD wait); no router solicitations noise.
        lab_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    ip link add "$LAB_CLIENT_DEV" netns "$LAB_NS_CLIENT" type veth \
        peer name "$LAB_ROUTER_CLIENT_DEV" netns "$LAB_NS_ROUTER" || lab_fail "veth client<->router"
    ip link add "$LAB_SERVER_DEV" netns "$LAB_NS_SERVER" type veth \
        peer name "$LAB_ROUTER_SERVER_DEV" netns "$LAB_NS_ROUTER" || lab_fail "veth server<->router"

    lab_router sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

    ip -n "$LAB_NS_CLIENT" addr add "$LAB_CLIENT_IP4/24" dev "$LAB_CLIENT_DEV"
    ip -n "$LAB_NS_CLIENT" addr add "$LAB_CLIENT_IP6/64" dev "$LAB_CLIENT_DEV" nodad
    ip -n "$LAB_NS_ROUTER" addr add "$LAB_ROUTER_CLIENT_IP4/24" dev "$LAB_ROUTER_CLIENT_DEV"
    ip -n "$LAB_NS_ROUTER" addr add "$LAB_ROUTER_CLIENT_IP6/64" dev "$LAB_ROUTER_CLIENT_DEV" nodad
    ip -n "$LAB_NS_ROUTER" addr add "$LAB_ROUTER_SERVER_IP4/24" dev "$LAB_ROUTER_SERVER_DEV"
    ip -n "$LAB_NS_ROUTER" addr add "$LAB_ROUTER_SERVER_IP6/64" dev "$LAB_ROUTER_SERVER_DEV" nodad
    ip -n "$LAB_NS_SERVER" addr add "$LAB_SERVER_IP4/24" dev "$LAB_SERVER_DEV"
    ip -n "$LAB_NS_SERVER" addr add "$LAB_SERVER_IP6/64" dev "$LAB_SERVER_DEV" nodad

    for dev in "$LAB_NS_CLIENT:$LAB_CLIENT_DEV" "$LAB_NS_ROUTER:$LAB_ROUTER_CLIENT_DEV" \
        "$LAB_NS_ROUTER:$LAB_ROUTER_SERVER_DEV" "$LAB_NS_SERVER:$LAB_SERVER_DEV"; do
        ns=${dev%%:*}
        dev=${dev#*:}
        lab_ns "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null ||
            lab_fail "ethtool -K $dev tso off gso off gro off (in $ns)"
        ip -n "$ns" link set "$dev" up
    done

    ip -n "$LAB_NS_CLIENT" route add default via "$LAB_ROUTER_CLIENT_IP4"
    ip -n "$LAB_NS_CLIENT" -6 route add default via "$LAB_ROUTER_CLIENT_IP6"
    ip -n "$LAB_NS_SERVER" route add default via "$LAB_ROUTER_SERVER_IP4"
    ip -n "$LAB_NS_SERVER" -6 route add default via "$LAB_ROUTER_SERVER_IP6"

    # Both directions must forward before a scenario starts (links come up async).
    lab_wait_for 10 lab_ping "$LAB_NS_CLIENT" "$LAB_SERVER_IP4" ||
        lab_fail "topology: client cannot reach $LAB_SERVER_IP4 through the router"
    lab_wait_for 10 lab_ping "$LAB_NS_CLIENT" "$LAB_SERVER_IP6" ||
        lab_fail "topology: client cannot reach $LAB_SERVER_IP6 through the router"
    lab_log "topology up: $LAB_NS_CLIENT($LAB_CLIENT_DEV) — $LAB_NS_ROUTER($LAB_ROUTER_CLIENT_DEV,$LAB_ROUTER_SERVER_DEV) — $LAB_NS_SERVER($LAB_SERVER_DEV)"
}

lab_teardown() { # stop servers and transfers, delete the namespaces (safe to call twice)
    local - ns pid
    set +e # best effort; must not turn a passing scenario's exit status into a failure
    for pid in ${LAB_BG_PIDS:-}; do kill "$pid" 2>/dev/null; done
    LAB_BG_PIDS=
    for ns in "$LAB_NS_CLIENT" "$LAB_NS_ROUTER" "$LAB_NS_SERVER"; do
        if [[ -e /run/netns/$ns ]]; then
            # Kill what still runs inside (e.g. the iperf3 daemon), then the namespace.
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
            ip netns del "$ns" 2>/dev/null
        fi
    done
    return 0
}

# ---------------------------------------------------------------- nftables and tc
lab_nft_load() { # lab_nft_load [FILE|-] — load a ruleset into the router ns (default: stdin)
    local f=${1:--}
    lab_require_cmd nft
    if [[ $f == - ]]; then
        lab_router nft -f /dev/stdin || lab_fail "nft -f (stdin) failed in $LAB_NS_ROUTER"
    else
        lab_router nft -f "$f" || lab_fail "nft -f $f failed in $LAB_NS_ROUTER"
    fi
}

lab_nft_flow_router() { # lab_nft_flow_router [masquerade] — the flow-strategy ruleset: a
    # flowtable on the router's two ports, `meta l4proto { tcp, udp } flow add @ft` in forward;
    # with "masquerade", source NAT of what leaves through the server-side port
    local nat=
    if [[ ${1:-} == masquerade ]]; then
        nat="chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname \"$LAB_ROUTER_SERVER_DEV\" masquerade
    }"
    fi
    lab_nft_load <<EOF
table inet lab {
    flowtable ft {
        hook ingress priority 0
        devices = { $LAB_ROUTER_CLIENT_DEV, $LAB_ROUTER_SERVER_DEV }
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto { tcp, udp } flow add @ft
    }
    $nat
}
EOF
}

lab_router_static_neighbours() { # the router's neighbours (client, server) made permanent, for
    # paths of connections created without traffic (conntrack entries made through ctnetlink)
    lab_router ip neigh replace "$LAB_CLIENT_IP4" dev "$LAB_ROUTER_CLIENT_DEV" nud permanent \
        lladdr "$(lab_client cat "/sys/class/net/$LAB_CLIENT_DEV/address")"
    lab_router ip neigh replace "$LAB_SERVER_IP4" dev "$LAB_ROUTER_SERVER_DEV" nud permanent \
        lladdr "$(lab_server cat "/sys/class/net/$LAB_SERVER_DEV/address")"
}

lab_tc_packets() { # lab_tc_packets NS DEV ingress|egress CHAIN — packets counted by the
    # first action of each filter in CHAIN, summed (tc -s -j filter show; jq)
    local ns=$1 dev=$2 dir=$3 chain=$4 json
    lab_require_cmd tc jq
    json=$(lab_ns "$ns" tc -s -j filter show dev "$dev" "$dir" chain "$chain") ||
        lab_fail "tc filter show dev $dev $dir chain $chain (in $ns)"
    jq '[.[] | select(.options.actions != null) | .options.actions[0].stats.packets // 0] | add // 0' <<<"$json" ||
        lab_fail "cannot parse tc -j output: $json"
}

lab_tc_filter_packets() { # lab_tc_filter_packets NS DEV ingress|egress CHAIN PREF —
    # packets counted by the first action of the filter(s) with priority PREF in CHAIN
    local ns=$1 dev=$2 dir=$3 chain=$4 pref=$5 json
    lab_require_cmd tc jq
    json=$(lab_ns "$ns" tc -s -j filter show dev "$dev" "$dir" chain "$chain" pref "$pref") ||
        lab_fail "tc filter show dev $dev $dir chain $chain pref $pref (in $ns)"
    jq '[.[] | select(.options.actions != null) | .options.actions[0].stats.packets // 0] | add // 0' <<<"$json" ||
        lab_fail "cannot parse tc -j output: $json"
}

lab_tc_action_packets() { # lab_tc_action_packets NS DEV ingress|egress CHAIN ACTION-KIND —
    # packets counted by all actions of that kind (e.g. ct, gact, mirred) in CHAIN
    local ns=$1 dev=$2 dir=$3 chain=$4 kind=$5 json
    lab_require_cmd tc jq
    json=$(lab_ns "$ns" tc -s -j filter show dev "$dev" "$dir" chain "$chain") ||
        lab_fail "tc filter show dev $dev $dir chain $chain (in $ns)"
    jq --arg k "$kind" '[.[] | .options.actions // [] | .[] | select(.kind == $k) | .stats.packets // 0] | add // 0' <<<"$json" ||
        lab_fail "cannot parse tc -j output: $json"
}

lab_shows() { # lab_shows TEXT CMD... — CMD succeeds and its output contains TEXT (no pipe:
    # grep -q under pipefail would fail the pipeline through SIGPIPE)
    local out
    out=$("${@:2}") || return 1
    [[ $out == *"$1"* ]]
}

lab_tc_cookie_filters() { # lab_tc_cookie_filters NS COOKIE-PREFIX DEV... — how many filters
    # of the devices (every chain, ingress and egress) have an action whose cookie starts with
    # COOKIE-PREFIX (hex, as tc -j prints it)
    local ns=$1 cookie=$2 n=0 d h
    shift 2
    lab_require_cmd tc jq
    for d in "$@"; do
        for h in ingress egress; do
            n=$((n + $(lab_ns "$ns" tc -j filter show dev "$d" "$h" | jq --arg c "$cookie" '[.[]
                | select(.options.handle != null)
                | select([.options.actions[]?.cookie // ""] | any(startswith($c)))]
                | length')))
        done
    done
    echo "$n"
}

# ---------------------------------------------------------------- TCP traffic
lab_tcp_server_start() { # lab_tcp_server_start [PORT] — iperf3 server in the server ns
    local port=${1:-$LAB_TCP_PORT} pidfile
    lab_require_cmd iperf3 ss
    pidfile=/run/lab-iperf3-$port.pid
    if [[ -s $pidfile ]] && kill -0 "$(<"$pidfile")" 2>/dev/null; then return 0; fi
    lab_server iperf3 -s -D -p "$port" -I "$pidfile" --logfile "/tmp/lab-iperf3-$port.log" ||
        lab_fail "iperf3 server did not start"
    lab_wait_for 10 lab_tcp_listening "$port" ||
        lab_fail "iperf3 server is not listening on port $port in $LAB_NS_SERVER"
}

lab_tcp_listening() { # lab_tcp_listening PORT — something listens on PORT in the server ns
    [[ -n $(lab_server ss -Hltn "sport = :$1") ]]
}

# lab_tcp_transfer [-4|-6] [-t SECONDS | -n BYTES] [-b RATE] [-p PORT] [-T LIMIT] [-o JSON-FILE]
#   One TCP transfer client → server through the router, bounded: iperf3 -t SECONDS
#   (default 2) or -n BYTES, killed after LIMIT seconds (default SECONDS + 60). -b caps
#   the rate (iperf3 -b, e.g. 20M): the VM has one emulated CPU, and an uncapped transfer
#   leaves little of it for the scenario's own commands meanwhile. Starts the server if
#   needed. Returns iperf3's status; with -o the iperf3 JSON report is kept. Prints the
#   bytes received by the server on stdout.
lab_tcp_transfer() {
    local fam=4 secs=2 bytes='' rate='' port=$LAB_TCP_PORT limit='' out='' dst opt report rc
    local OPTIND=1
    while getopts "46t:n:b:p:T:o:" opt; do
        case $opt in
        4) fam=4 ;;
        6) fam=6 ;;
        t) secs=$OPTARG ;;
        n) bytes=$OPTARG ;;
        b) rate=$OPTARG ;;
        p) port=$OPTARG ;;
        T) limit=$OPTARG ;;
        o) out=$OPTARG ;;
        *) lab_fail "lab_tcp_transfer: bad option" ;;
        esac
    done
    if [[ $fam == 6 ]]; then dst=$LAB_SERVER_IP6; else dst=$LAB_SERVER_IP4; fi
    limit=${limit:-$((secs + 60))}
    lab_tcp_server_start "$port"
    local -a len=(-t "$secs")
    if [[ -n $bytes ]]; then len=(-n "$bytes"); fi
    if [[ -n $rate ]]; then len+=(-b "$rate"); fi
    report=$(mktemp /tmp/lab-iperf3-report.XXXXXX)
    lab_log "TCP transfer: client → [$dst]:$port ${len[*]} (limit ${limit}s)"
    # --connect-timeout: fail fast if the path is broken instead of hanging on SYN retries.
    rc=0
    timeout -k 5 "$limit" ip netns exec "$LAB_NS_CLIENT" \
        iperf3 -c "$dst" -p "$port" "${len[@]}" -J --connect-timeout 5000 >"$report" || rc=$?
    if [[ -n $out ]]; then cp "$report" "$out"; fi
    if ((rc == 0)); then
        jq '.end.sum_received.bytes // 0' "$report"
    else
        local err
        err=$(jq -r '.error // empty' "$report" 2>/dev/null)
        if [[ $err == interrupt* ]]; then
            lab_log "iperf3 client stopped: $err"
        else
            lab_log "iperf3 client failed (status $rc): $err"
        fi
    fi
    rm -f "$report"
    return $rc
}

# lab_tcp_transfer_bg [lab_tcp_transfer options] — start a transfer in the background;
#   its pid is in $LAB_BG_PID (also killed by lab_teardown). Collect it with lab_bg_wait
#   (in the same shell: not inside $(...), where it is no child).
lab_tcp_transfer_bg() {
    local port=$LAB_TCP_PORT a prev=
    for a in "$@"; do
        [[ $prev == -p ]] && port=$a
        prev=$a
    done
    LAB_BG_OUT=$(mktemp /tmp/lab-bg.XXXXXX)
    lab_tcp_server_start "$port"
    lab_tcp_transfer "$@" >"$LAB_BG_OUT" &
    LAB_BG_PID=$!
    LAB_BG_PIDS="${LAB_BG_PIDS:-} $LAB_BG_PID"
}

lab_bg_alive() { # lab_bg_alive — is the last background transfer still running?
    [[ -n ${LAB_BG_PID:-} ]] && kill -0 "$LAB_BG_PID" 2>/dev/null
}

lab_bg_stop() { # lab_bg_stop — end the last background transfer now (kills the iperf3
    # client in the client ns) and reap it; its status is not looked at
    local - pid
    set +e
    lab_log "stopping the background transfer"
    for pid in $(ip netns pids "$LAB_NS_CLIENT" 2>/dev/null); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == iperf3 ]] && kill "$pid" 2>/dev/null
    done
    wait "$LAB_BG_PID" 2>/dev/null
    rm -f "$LAB_BG_OUT"
    return 0
}

lab_bg_wait() { # lab_bg_wait — wait for the last background transfer; returns its status
    # and sets LAB_BG_BYTES (bytes received by the server)
    local rc=0
    wait "$LAB_BG_PID" || rc=$?
    LAB_BG_BYTES=$(<"$LAB_BG_OUT")
    export LAB_BG_BYTES
    rm -f "$LAB_BG_OUT"
    return $rc
}

lab_client_tcp_conns() { # lab_client_tcp_conns PORT — established client sockets to PORT
    lab_client ss -Htn state established "dport = :$1"
}

lab_client_tcp_busiest_port() { # lab_client_tcp_busiest_port PORT — local port of the
    # established client socket to PORT that sent the most (iperf3's data connection, not
    # its idle control connection); fails if there is none
    lab_client ss -Htin state established "dport = :$1" | awk '
        /^[0-9]/ { n = split($3, a, ":"); port = a[n]; next }
        { if (match($0, /bytes_acked:[0-9]+/)) { b = substr($0, RSTART + 12, RLENGTH - 12) + 0 }
          else { b = 0 }
          if (port != "" && (best == "" || b > max)) { best = port; max = b }
          port = "" }
        END { if (best == "") exit 1; print best }'
}

lab_client_tcp_ports() { # lab_client_tcp_ports PORT — local ports of those sockets, one a line
    lab_client_tcp_conns "$1" | awk '{ n = split($3, a, ":"); print a[n] }'
}

# ---------------------------------------------------------------- conntrack
lab_conntrack() { # lab_conntrack ARGS... — conntrack(8) in the router ns
    lab_require_cmd conntrack
    lab_router conntrack "$@"
}

# ---------------------------------------------------------------- daemon scenarios
# lab_daemon_cleanup LOG LINES [SIGNAL] — first thing in an EXIT trap of a scenario that runs
#   the daemon (pid in $DPID): when the scenario failed, the last LINES of the daemon's LOG go
#   to stderr; then the daemon, if still running, gets SIGNAL (TERM). Keeps the trap's status.
lab_daemon_cleanup() {
    local rc=$?
    if ((rc != 0)) && [[ -f $1 ]]; then
        echo "---- daemon log (last $2 lines)" >&2
        tail -n "$2" "$1" >&2
    fi
    [[ -n ${DPID:-} ]] && kill -s "${3:-TERM}" "$DPID" 2>/dev/null
    return 0
}
