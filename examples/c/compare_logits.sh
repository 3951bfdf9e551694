#!/usr/bin/env bash
# The module the C++ importer compiled computes what `irex export`'s does:
# both run in IREE's iree-run-module on the same tokens, and their prefill
# logits must agree to 1e-5 (the same module and flags: expected identical).
#
#   compare_logits.sh IREX IREE_RUN_MODULE PYTHON MODEL IMPORTED.vmfb IMPORTED.irpa WORKDIR
set -euo pipefail
irex=$1 run_module=$2 python=$3 model=$4 vmfb=$5 irpa=$6 work=$7
rm -rf "$work"
"$irex" export "$model" -o "$work/export" --seq-len 16
tokens=1x16xi32=1,504,2260,3037,6004,359,260,2366,30,216,1489,1056,284,2102,314,260
run() {
  "$run_module" --device=local-task --module="$1" --parameters=model="$2" \
    --function=prefill --input="$tokens" --output=@"$3" --output=@/dev/null --output=@/dev/null >/dev/null
}
run "$work/export/model.vmfb" "$work/export/model.irpa" "$work/export.npy"
run "$vmfb" "$irpa" "$work/imported.npy"
"$python" - "$work/export.npy" "$work/imported.npy" <<'PY'
import sys
import numpy as np
exported, imported = (np.load(path) for path in sys.argv[1:3])
assert exported.shape == imported.shape, (exported.shape, imported.shape)
difference = float(np.max(np.abs(exported.astype(np.float64) - imported)))
print(f"prefill logits {exported.shape}: max |imported - exported| = {difference:g}")
sys.exit(0 if difference <= 1e-5 else 1)
PY
