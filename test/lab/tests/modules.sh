#!/bin/bash
# lab.modules — the VM's kernel has the modules the daemon relies on, modprobe loads them,
# and the kernel's own module autoloading (request_module) works inside the VM.
set -euo pipefail
# shellcheck source=test/lab/lib.sh
source "$(dirname "$0")/../lib.sh"
lab_require_vm

mods=(cls_flower act_ct act_mirred act_gact act_pedit act_csum act_vlan
    nf_flow_table nf_flow_table_inet nft_flow_offload sch_ingress veth)

# Autoloading first, while sch_ingress is not loaded yet: `tc qdisc add ... clsact`
# makes the kernel call modprobe (through the initramfs shim).
if lab_module_loaded sch_ingress; then
    lab_fail "sch_ingress is loaded before the test asked for it"
fi
ip netns add lab-autoload
trap 'ip netns del lab-autoload 2>/dev/null' EXIT
lab_assert ip netns exec lab-autoload tc qdisc add dev lo clsact
lab_module_loaded sch_ingress || lab_fail "tc qdisc add clsact did not autoload sch_ingress"

lab_modprobe "${mods[@]}"

lsmod_out=$(lsmod)
for m in "${mods[@]}"; do
    lab_module_loaded "$m" || lab_fail "$m: no /sys/module/$m after modprobe"
    grep -q "^$m " /proc/modules || lab_fail "$m: not in /proc/modules"
    grep -q "^$m " <<<"$lsmod_out" || lab_fail "$m: not in lsmod output"
done
# The loaded objects are the VM kernel's own (the host's / is shared, same path).
ver=$(modinfo -F vermagic cls_flower)
lab_assert_match "$ver" "^$(uname -r) " "vermagic of cls_flower"
echo "modules loaded on $(uname -r): ${mods[*]}"
