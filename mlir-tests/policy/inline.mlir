// InlineAlways: both weights are stablehlo.constant binary attributes.
// RUN: irex export --example linear --policy inline -o - | FileCheck %s

// CHECK-NOT: util.global
// CHECK: func.func @main(%arg0: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: [[W:%.*]] = stablehlo.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: [[B:%.*]] = stablehlo.constant dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: [[P:%.*]] = stablehlo.dot_general [[W]], %arg0, contracting_dims = [1] x [0] : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: stablehlo.add [[P]], [[B]] : tensor<2xf32>
// CHECK-NOT: flow.parameter
