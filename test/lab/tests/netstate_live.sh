#!/bin/bash
# lab.netstate_live — the netstate module against a real kernel: in the router namespace of
# the lab topology, the snapshot (libnl cache manager) sees the router's two veths (kind,
# driver from ethtool, MAC, up/running), the two connected routes per family, a VALID
# neighbour for the client and the server after the topology's pings; and the change
# callback fires with the old and new MAC when `ip neigh replace` changes the server's
# link-layer address.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lab_require_vm
trap lab_teardown EXIT

DRIVER=${NTO_CTFWD_LABDRIVER:-${NTO_BUILD_DIR:-${NTO_SOURCE_DIR:-.}/build}/test/unit/ctfwd/ctfwd_labdriver}
[[ -x $DRIVER ]] || lab_fail "ctfwd_labdriver not built: $DRIVER (set NTO_BUILD_DIR)"

lab_topology_up
# the topology pinged client -> server (v4 and v6); ping both hosts from the router as well
lab_ping "$LAB_NS_ROUTER" "$LAB_CLIENT_IP4" || lab_fail "router cannot ping the client"
lab_ping "$LAB_NS_ROUTER" "$LAB_SERVER_IP4" || lab_fail "router cannot ping the server"
lab_ping "$LAB_NS_ROUTER" "$LAB_SERVER_IP6" || lab_fail "router cannot ping the server (v6)"

snap=$(lab_router "$DRIVER" snapshot) || lab_fail "ctfwd_labdriver snapshot failed"
echo "$snap"

# links: both veths, with what the kernel and ethtool say about them
for dev in "$LAB_ROUTER_CLIENT_DEV" "$LAB_ROUTER_SERVER_DEV"; do
    mac=$(lab_router cat "/sys/class/net/$dev/address")
    lab_assert_match "$snap" "^link [0-9]+ $dev kind=veth driver=veth mac=$mac mtu=1500 up=1 running=1 master=0$" \
        "snapshot link $dev"
done
lab_assert_match "$snap" "^link 1 lo kind=- " "snapshot link lo"

# routes: the two connected routes per family in the main table, and the local addresses
lab_assert_match "$snap" "^route inet main unicast $LAB_CLIENT_NET4 dev $LAB_ROUTER_CLIENT_DEV metric 0$" "v4 route to the client net"
lab_assert_match "$snap" "^route inet main unicast $LAB_SERVER_NET4 dev $LAB_ROUTER_SERVER_DEV metric 0$" "v4 route to the server net"
lab_assert_match "$snap" "^route inet6 main unicast $LAB_CLIENT_NET6 dev $LAB_ROUTER_CLIENT_DEV metric 256$" "v6 route to the client net"
lab_assert_match "$snap" "^route inet6 main unicast $LAB_SERVER_NET6 dev $LAB_ROUTER_SERVER_DEV metric 256$" "v6 route to the server net"
lab_assert_match "$snap" "^route inet local local $LAB_ROUTER_SERVER_IP4/32 dev $LAB_ROUTER_SERVER_DEV" "local address"
n4=$(grep -c '^route inet main unicast' <<<"$snap" || true)
lab_assert_eq "$n4" 2 "IPv4 main-table routes (the two connected ones)"

# neighbours: valid entries for both hosts, with their real MACs
smac=$(lab_server cat "/sys/class/net/$LAB_SERVER_DEV/address")
cmac=$(lab_client cat "/sys/class/net/$LAB_CLIENT_DEV/address")
lab_assert_match "$snap" "^neigh inet $LAB_ROUTER_SERVER_DEV $LAB_SERVER_IP4 lladdr $smac state [A-Z|]+ valid=1$" "server neighbour (v4)"
lab_assert_match "$snap" "^neigh inet $LAB_ROUTER_CLIENT_DEV $LAB_CLIENT_IP4 lladdr $cmac state [A-Z|]+ valid=1$" "client neighbour (v4)"
lab_assert_match "$snap" "^neigh inet6 $LAB_ROUTER_SERVER_DEV $LAB_SERVER_IP6 lladdr $smac state [A-Z|]+ valid=1$" "server neighbour (v6)"

# change callback: watch in the background, then change the server's neighbour MAC
out=/tmp/netstate-watch.out
lab_router "$DRIVER" watch 20 >"$out" 2>&1 &
watch_pid=$!
LAB_BG_PIDS="${LAB_BG_PIDS:-} $watch_pid"
lab_wait_for 10 grep -q '^ready$' "$out" || lab_fail "watcher did not start: $(cat "$out")"
newmac=02:00:00:00:aa:02
lab_assert lab_router ip neigh replace "$LAB_SERVER_IP4" lladdr "$newmac" dev "$LAB_ROUTER_SERVER_DEV" nud reachable
rc=0
wait "$watch_pid" || rc=$?
cat "$out"
lab_assert_eq "$rc" 0 "watcher exit status (0: it saw a neighbour lladdr change)"
lab_assert_match "$(cat "$out")" "^change neigh changed neigh inet \? $LAB_SERVER_IP4 lladdr $newmac state REACHABLE valid=1$" "change event"
lab_assert_match "$(cat "$out")" "^change neigh lladdr $smac -> $newmac$" "old and new MAC in the change"
echo "PASS"
