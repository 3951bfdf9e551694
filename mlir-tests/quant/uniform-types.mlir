// Integer weights with affine scales keep their stored integers and carry
// `!quant.uniform` element types: per-axis (a scale and zero point per row)
// and per-tensor, each read through stablehlo.uniform_dequantize.
// RUN: irex export --example int8-linear --policy external -o - | FileCheck %s
// RUN: irex export --example int8-linear --policy inline -o - | FileCheck %s --check-prefix=INLINE

// CHECK: util.global private @int8_weight = #flow.parameter.named<"model"::"int8.weight"> : tensor<2x3x!quant.uniform<i8:f32:0, {5.000000e-01,2.500000e-01:-2}>>
// CHECK-NEXT: util.global private @int8_bias = #flow.parameter.named<"model"::"int8.bias"> : tensor<2x!quant.uniform<i8:f32, 1.250000e-01:4>>
// CHECK: [[W:%.*]] = util.global.load @int8_weight : tensor<2x3x!quant.uniform<i8:f32:0, {5.000000e-01,2.500000e-01:-2}>>
// CHECK-NEXT: [[WF:%.*]] = stablehlo.uniform_dequantize [[W]] : (tensor<2x3x!quant.uniform<i8:f32:0, {5.000000e-01,2.500000e-01:-2}>>) -> tensor<2x3xf32>
// CHECK: [[B:%.*]] = util.global.load @int8_bias
// CHECK-NEXT: [[BF:%.*]] = stablehlo.uniform_dequantize [[B]] : (tensor<2x!quant.uniform<i8:f32, 1.250000e-01:4>>) -> tensor<2xf32>
// CHECK-NEXT: [[P:%.*]] = stablehlo.dot_general [[WF]], %arg0
// CHECK-NEXT: stablehlo.add [[P]], [[BF]]

// The stored integers, never the dequantized values, are in the constant.
// INLINE: stablehlo.constant() <{value = dense<{{\[\[}}2, -4, 6], [8, 10, -12]]> : tensor<2x3xi8>}> : () -> tensor<2x3x!quant.uniform<i8:f32:0, {5.000000e-01,2.500000e-01:-2}>>
// INLINE: stablehlo.constant() <{value = dense<[12, -4]> : tensor<2xi8>}> : () -> tensor<2x!quant.uniform<i8:f32, 1.250000e-01:4>>
// INLINE-NOT: dense<[1.0
