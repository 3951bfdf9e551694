// What IREE receives: IREE 3.10 refuses stablehlo.uniform_dequantize, so irex
// lowers it to (convert(q) - zero_point) * scale on the stored integers; the
// globals keep their .irpa entries, now typed by their storage integers.
// RUN: irex export --example int8-linear --policy external --emit bytecode -o %t.mlirbc
// RUN: irex print --lower-quant %t.mlirbc | FileCheck %s

// CHECK-NOT: quant
// CHECK: util.global private @int8_weight = #flow.parameter.named<"model"::"int8.weight"> : tensor<2x3xi8>
// CHECK-NEXT: util.global private @int8_bias = #flow.parameter.named<"model"::"int8.bias"> : tensor<2xi8>
// CHECK: [[W:%.*]] = util.global.load @int8_weight : tensor<2x3xi8>
// CHECK-NEXT: [[Q:%.*]] = stablehlo.convert [[W]] : (tensor<2x3xi8>) -> tensor<2x3xf32>
// CHECK-NEXT: [[Z:%.*]] = stablehlo.constant dense<[0.000000e+00, -2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: [[ZB:%.*]] = stablehlo.broadcast_in_dim [[Z]], dims = [0] : (tensor<2xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[D:%.*]] = stablehlo.subtract [[Q]], [[ZB]]
// CHECK-NEXT: [[S:%.*]] = stablehlo.constant dense<[5.000000e-01, 2.500000e-01]> : tensor<2xf32>
// CHECK-NEXT: [[SB:%.*]] = stablehlo.broadcast_in_dim [[S]], dims = [0]
// CHECK-NEXT: stablehlo.multiply [[D]], [[SB]]
// CHECK: [[B:%.*]] = util.global.load @int8_bias : tensor<2xi8>
// CHECK-NEXT: [[BQ:%.*]] = stablehlo.convert [[B]] : (tensor<2xi8>) -> tensor<2xf32>
// CHECK-NEXT: [[BZ:%.*]] = stablehlo.constant dense<4.000000e+00> : tensor<2xf32>
// CHECK-NEXT: [[BD:%.*]] = stablehlo.subtract [[BQ]], [[BZ]]
// CHECK-NEXT: [[BS:%.*]] = stablehlo.constant dense<1.250000e-01> : tensor<2xf32>
// CHECK-NEXT: stablehlo.multiply [[BD]], [[BS]]
// CHECK-NOT: quant
