#!/bin/sh
# check_unit.sh BUILD_DIR PREFIX SBINDIR UNITDIR MANDIR — see CMakeLists.txt.
set -eu
build=$1 prefix=$2 bindir=$3 unitdir=$4 mandir=$5
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze not found (Debian package systemd)"; exit 1; }
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest cmake --install "$build" >/dev/null
case $unitdir in /*) ;; *) unitdir=$prefix/$unitdir ;; esac
unit=$dest$unitdir/nft-tc-offload.service
[ -f "$unit" ] || { echo "FAIL: no unit installed at $unit"; exit 1; }
[ -x "$dest$bindir/nft-tc-offload" ] || { echo "FAIL: no binary at $dest$bindir"; exit 1; }
for m in man8/nft-tc-offload.8 man5/nft-tc-offload.conf.5 man5/nft-tc-offload-profile.5; do
    [ -f "$dest$prefix/$mandir/$m" ] || { echo "FAIL: man page $m not installed"; exit 1; }
done
# the unit names the installed binary; point it at the DESTDIR copy
grep -q "^ExecStart=$bindir/nft-tc-offload run" "$unit" || { echo "FAIL: ExecStart: $(grep ExecStart= "$unit")"; exit 1; }
sed -i "s|^ExecStart=$bindir/|ExecStart=$dest$bindir/|" "$unit"
out=$(MANPATH="$dest$prefix/$mandir" systemd-analyze verify "$unit" 2>&1) || {
    echo "FAIL: systemd-analyze verify:"; echo "$out"; exit 1; }
[ -z "$out" ] || { echo "FAIL: systemd-analyze verify said:"; echo "$out"; exit 1; }
echo "systemd-analyze verify: clean"
line=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | grep 'Overall exposure level')
echo "$line"
score=$(echo "$line" | sed -E 's/.*: ([0-9]+\.[0-9]+) .*/\1/')
awk -v s="$score" 'BEGIN { exit !(s + 0 <= 2.0) }' || { echo "FAIL: exposure $score > 2.0"; exit 1; }
