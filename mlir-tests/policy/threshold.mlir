// SizeThreshold(16): the 16-byte weight goes external, the 8-byte bias stays inline.
// RUN: irex export --example linear --policy threshold=16 -o - | FileCheck %s
// RUN: irex export --example linear --policy threshold=17 -o - | FileCheck %s --check-prefix=ALL-INLINE

// CHECK: util.global private @linear_weight = #flow.parameter.named<"model"::"linear.weight"> : tensor<2x2xf32>
// CHECK-NOT: @linear_bias
// CHECK: util.global.load @linear_weight
// CHECK-NEXT: stablehlo.constant dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>

// ALL-INLINE-NOT: util.global
// ALL-INLINE: stablehlo.constant dense<{{\[\[}}1.000000e+00
// ALL-INLINE: stablehlo.constant dense<[5.000000e-01
