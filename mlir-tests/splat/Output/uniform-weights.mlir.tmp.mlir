module @uniform_linear {
  util.global private @linear_weight = #flow.parameter.named<"model"::"linear.weight"> : tensor<2x2xf32>
  util.global private @linear_bias = #flow.parameter.named<"model"::"linear.bias"> : tensor<2xf32>
  func.func @main(%arg0: tensor<2xf32>) -> tensor<2xf32> {
    %linear_weight = util.global.load @linear_weight : tensor<2x2xf32>
    %linear_bias = util.global.load @linear_bias : tensor<2xf32>
    %0 = stablehlo.dot_general %linear_weight, %arg0, contracting_dims = [1] x [0] : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %1 = stablehlo.add %0, %linear_bias : tensor<2xf32>
    return %1 : tensor<2xf32>
  }
}
