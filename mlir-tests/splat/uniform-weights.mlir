// Uniform weights collapse: inline to a splat attribute, external to SPLAT
// entries of the .irpa (no stored bytes) that IREE's own tool lists.
// RUN: irex export --example uniform-linear -o - | FileCheck %s --check-prefix=INLINE
// RUN: irex export --example uniform-linear --policy external --irpa %t.irpa -o %t.mlir
// RUN: irex inspect %t.irpa | FileCheck %s --check-prefix=IRPA
// RUN: iree-dump-parameters --parameters=model=%t.irpa | FileCheck %s --check-prefix=IREE

// INLINE: stablehlo.constant dense<5.000000e-01> : tensor<2x2xf32>
// INLINE-NEXT: stablehlo.constant dense<1.000000e+00> : tensor<2xf32>

// IRPA: splat x0000003f 16 linear.weight
// IRPA-NEXT: splat x0000803f 8 linear.bias

// IREE: Parameter scope `model` (2 entries, 24 total bytes)
// IREE: - | - | 16 | `linear.weight`
// IREE-NEXT: - | - | 8 | `linear.bias`
