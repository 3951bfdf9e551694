// Quantized values the lowering cannot turn into weight arithmetic are
// refused by name and location, not compiled with a guessed meaning.
// RUN: not irex compile %s -o %t.vmfb 2>&1 | FileCheck %s
// RUN: not irex print --lower-quant %s 2>&1 | FileCheck %s

// CHECK: func.func at {{.*}}: quantized function arguments or results: irex lowers !quant.uniform weights only
func.func @main(%arg0: tensor<2x!quant.uniform<i8:f32, 5.000000e-01>>) -> tensor<2xf32> {
  %0 = stablehlo.uniform_dequantize %arg0 : (tensor<2x!quant.uniform<i8:f32, 5.000000e-01>>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
