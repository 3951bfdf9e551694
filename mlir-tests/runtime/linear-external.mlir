// Compiled in-process, run by IREE's runtime with irex's .irpa: W·x + b.
// RUN: irex export --example linear --policy external --irpa %t.irpa --vmfb %t.vmfb -o %t.mlir
// RUN: iree-run-module --device=local-task --module=%t.vmfb --parameters=model=%t.irpa --function=main --input=2xf32=1,2 | FileCheck %s
// RUN: irex export --example uniform-linear --policy external --irpa %t.u.irpa --vmfb %t.u.vmfb -o %t.u.mlir
// RUN: iree-run-module --device=local-task --module=%t.u.vmfb --parameters=model=%t.u.irpa --function=main --input=2xf32=1,2 | FileCheck %s --check-prefix=SPLAT

// CHECK: 2xf32=5.5 10
// SPLAT: 2xf32=2.5 2.5
