#!/bin/sh
# Golden test of `nft-tc-offload translate`: runs BINARY translate ARGS... in DIR (so the
# locations in the output are relative file names) and compares stdout with EXPECTED byte for
# byte. NTO_UPDATE_GOLDEN=1 rewrites EXPECTED instead (review the diff before committing).
# Usage: golden.sh BINARY EXPECTED DIR ARGS...
set -u
bin=$1 expected=$2 dir=$3
shift 3
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
(cd "$dir" && "$bin" translate "$@") >"$out"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "translate exited with $rc" >&2
	exit 1
fi
if [ "${NTO_UPDATE_GOLDEN:-0}" = 1 ]; then
	cp "$out" "$expected"
	exit 0
fi
cmp -s "$out" "$expected" && exit 0
diff -u "$expected" "$out" >&2
exit 1
