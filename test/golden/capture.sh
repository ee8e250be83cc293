#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Regenerates the tc golden vectors: for every "NAME<TAB>tc-batch-line" of shapes.txt, runs
# iproute2's tc with that line under strace and stores the netlink filter request it sends as
# NAME.hex (first line: "cmd <the line>", then the message as hex, 16 bytes a line).
#
# Needs root (a scratch network namespace), strace and tc. The kernel may refuse every request
# (no cls_flower, no clsact qdisc): that does not matter, tc has sent the bytes by then.
# Usage: test/golden/capture.sh [NAME...]   (default: every shape)
# SHAPES=file OUT=dir capture other lines elsewhere (for experiments).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
shapes=${SHAPES:-$here/shapes.txt} # overrides for experiments
out=${OUT:-$here}
ns=nto-golden-$$
tmp=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM

command -v strace >/dev/null || { echo "capture.sh: strace is needed" >&2; exit 1; }
echo "capture.sh: $(tc -V)" >&2

# eth0 = ifindex 2, eth1 = ifindex 3 (the veth peer is created first); the unit test's fake
# resolver assumes exactly this, so check it.
ip netns add "$ns"
ip -n "$ns" link add eth1 type veth peer name eth0
idx() { ip -n "$ns" -o link show "$1" | cut -d: -f1; }
if [ "$(idx eth0)" != 2 ] || [ "$(idx eth1)" != 3 ]; then
	echo "capture.sh: expected eth0=2 eth1=3, got $(idx eth0) $(idx eth1)" >&2
	exit 1
fi

capture() { # NAME LINE
	name=$1 line=$2
	# shellcheck disable=SC2086 # the line is split into words on purpose, as tc -batch does
	ip netns exec "$ns" strace -qq -f -e trace=sendmsg -e write=all -o "$tmp/trace" \
		tc $line >/dev/null 2>&1 || true
	# Keep the hex dump of the sendmsg that carries the filter request (tc may send
	# RTM_GETLINK first to resolve device names).
	awk '
		/sendmsg\(/ { keep = ($0 ~ /nlmsg_type=RTM_(NEW|DEL|GET)TFILTER/); next }
		keep && /^ \| [0-9a-f]+  / {
			hex = substr($0, 11, 49)
			gsub(/ /, "", hex)
			print hex
		}' "$tmp/trace" >"$tmp/hex"
	if [ ! -s "$tmp/hex" ]; then
		echo "capture.sh: $name: tc sent no filter request for: tc $line" >&2
		cat "$tmp/trace" >&2
		exit 1
	fi
	{
		printf 'cmd %s\n' "$line"
		cat "$tmp/hex"
	} >"$out/$name.hex"
	echo "captured $name ($(($(tr -d '\n' <"$tmp/hex" | wc -c) / 2)) bytes)" >&2
}

tab=$(printf '\t')
grep -v '^#' "$shapes" | grep -v '^$' | while IFS="$tab" read -r name line; do
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	capture "$name" "$line"
done
