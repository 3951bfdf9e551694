// ExternalAlways: every weight is a private util.global initialised with a
// named parameter, read with util.global.load; no weight value in the text.
// RUN: irex export --example linear --policy external -o - | FileCheck %s
// RUN: irex export --example linear --policy external --scope weights -o - | FileCheck %s --check-prefix=SCOPE

// CHECK-NOT: dense<
// CHECK: util.global private @linear_weight = #flow.parameter.named<"model"::"linear.weight"> : tensor<2x2xf32>
// CHECK-NEXT: util.global private @linear_bias = #flow.parameter.named<"model"::"linear.bias"> : tensor<2xf32>
// CHECK: func.func @main
// CHECK-NEXT: [[W:%.*]] = util.global.load @linear_weight : tensor<2x2xf32>
// CHECK-NEXT: [[B:%.*]] = util.global.load @linear_bias : tensor<2xf32>
// CHECK-NEXT: [[P:%.*]] = stablehlo.dot_general [[W]], %arg0
// CHECK-NEXT: stablehlo.add [[P]], [[B]]
// CHECK-NOT: dense<

// SCOPE: #flow.parameter.named<"weights"::"linear.weight">
// SCOPE: #flow.parameter.named<"weights"::"linear.bias">
