#!/bin/bash
# lab.runner_exit_status — runs on the host (not in the VM) and checks test/lab/run itself:
# exit status, stdout/stderr separation, arguments, cwd and environment, timeout.
set -uo pipefail
run=$(cd "$(dirname "$0")/.." && pwd)/run
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. `false` → non-zero.
"$run" false >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc -ne 0 ]] || fail "'run false' exited 0"
[[ $rc -eq 1 ]] || fail "'run false' exited $rc, expected false's own 1"
echo "run false -> $rc"

# 2. exit 7, with output on both streams, awkward arguments, cwd and NTO_* environment.
cd "$tmp" || exit 1
# shellcheck disable=SC2016 # literal $z and the inner script's own expansions
NTO_LAB_SELFTEST='x y $z' "$run" sh -c 'echo "to stdout"; echo "to stderr" >&2
    printf "<%s>" "$@"; echo; pwd; echo "env=$NTO_LAB_SELFTEST vm=$NTO_LAB_VM"; exit 7' \
    sh 'a b' "c'd" '' '*' >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "run sh -c 'exit 7' -> $rc"
[[ $rc -eq 7 ]] || fail "'run sh -c exit 7' exited $rc"
expected_out="to stdout
<a b><c'd><><*>
$(pwd -P)
env=x y \$z vm=1"
[[ $(<"$tmp/out") == "$expected_out" ]] || fail "stdout was:
$(<"$tmp/out")
expected:
$expected_out"
[[ $(<"$tmp/err") == "to stderr" ]] || fail "stderr was: '$(<"$tmp/err")' (console or runner noise?)"

# 3. timeout → 124 and a message naming the kept console log.
"$run" --timeout 2 sleep 60 >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "run --timeout 2 sleep 60 -> $rc"
[[ $rc -eq 124 ]] || fail "timeout exited $rc, expected 124"
log=$(sed -n 's/^lab: console log: //p' "$tmp/err")
[[ -n $log && -s $log ]] || fail "timeout: no console log named on stderr: $(<"$tmp/err")"
[[ -n $log ]] && rm -rf "$(dirname "$log")"

# 4. usage error → 125 without booting.
"$run" >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc -eq 125 ]] || fail "'run' with no command exited $rc, expected 125"

if ((failures)); then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "PASS"
