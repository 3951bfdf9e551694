// Stage 1: `y = 2x + 1` with splat constants and no weights.
// RUN: irex export --example affine -o - | FileCheck %s

// CHECK-LABEL: module @affine {
// CHECK: func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: [[TWO:%.*]] = stablehlo.constant dense<2.000000e+00> : tensor<4xf32>
// CHECK-NEXT: [[ONE:%.*]] = stablehlo.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-NEXT: [[SCALED:%.*]] = stablehlo.multiply [[TWO]], %arg0 : tensor<4xf32>
// CHECK-NEXT: [[Y:%.*]] = stablehlo.add [[SCALED]], [[ONE]] : tensor<4xf32>
// CHECK-NEXT: return [[Y]] : tensor<4xf32>
// CHECK-NOT: util.global
