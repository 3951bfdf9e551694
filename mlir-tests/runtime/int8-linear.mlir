// Int8 weights with !quant.uniform types, run by IREE's runtime: W·x + b with
// W = (q - zero_point) * scale per row and b per tensor; by hand from the
// stored integers, W = [[1, -2, 3], [2.5, 3, -2.5]], b = [1, -1], so
// x = [1, 2, 3] gives [7, 0]. External (.irpa), inline, and compiled from
// bytecode by `irex compile`.
// RUN: irex export --example int8-linear --policy external --irpa %t.irpa --vmfb %t.vmfb -o %t.mlir
// RUN: iree-run-module --device=local-task --module=%t.vmfb --parameters=model=%t.irpa --function=main --input=3xf32=1,2,3 | FileCheck %s
// RUN: irex export --example int8-linear --policy inline --vmfb %t.inline.vmfb -o %t.inline.mlir
// RUN: iree-run-module --device=local-task --module=%t.inline.vmfb --function=main --input=3xf32=1,2,3 | FileCheck %s
// RUN: irex export --example int8-linear --policy external --emit bytecode -o %t.mlirbc
// RUN: irex compile %t.mlirbc -o %t.bc.vmfb
// RUN: iree-run-module --device=local-task --module=%t.bc.vmfb --parameters=model=%t.irpa --function=main --input=3xf32=1,2,3 | FileCheck %s
// RUN: iree-dump-parameters --parameters=model=%t.irpa | FileCheck %s --check-prefix=IRPA

// CHECK: 2xf32=7 0
// IRPA: Parameter scope `model` (2 entries, 8 total bytes)
// IRPA: | 6 | `int8.weight`
// IRPA: | 2 | `int8.bias`
