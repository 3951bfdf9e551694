// A verifier failure is a typed error naming the op and its location.
// RUN: not irex export --example mismatched-add -o %t.mlir 2>&1 | FileCheck %s
// RUN: not test -e %t.mlir

// CHECK: irex: module failed verification
// CHECK-NEXT: loc("mismatched.add"): error: 'stablehlo.add' op requires the same shape for all operands and results
