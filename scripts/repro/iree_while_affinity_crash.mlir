// IREE 3.10 crash (segfault in the stream dialect's ValueConsumerAffinityPVS,
// ScheduleAllocation) on a stablehlo.while that carries two tensors both
// updated in place by a called function. Reproduce:
//   .irex-toolchain/bin/iree-compile scripts/repro/iree_while_affinity_crash.mlir \
//     --iree-hal-target-device=local --iree-hal-local-target-device-backends=llvm-cpu -o /dev/null
// The same crash hit irex's in-module greedy generation loop (prefill, then
// decode in a while loop over the KV cache); see ARCHITECTURE.md.
util.global private @w = dense<0.5> : tensor<8x16xf32>
func.func @prefill(%t: tensor<1x4xi32>) -> (tensor<1x4x16xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) {
  %w = util.global.load @w : tensor<8x16xf32>
  %f = stablehlo.convert %t : (tensor<1x4xi32>) -> tensor<1x4xf32>
  %b = stablehlo.broadcast_in_dim %f, dims = [0, 1] : (tensor<1x4xf32>) -> tensor<1x4x8xf32>
  %l = stablehlo.dot_general %b, %w, contracting_dims = [2] x [0] : (tensor<1x4x8xf32>, tensor<8x16xf32>) -> tensor<1x4x16xf32>
  %k = stablehlo.broadcast_in_dim %f, dims = [0, 1] : (tensor<1x4xf32>) -> tensor<2x4x8xf32>
  return %l, %k, %k : tensor<1x4x16xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
}
func.func @decode(%t: tensor<1x1xi32>, %p: tensor<1xi32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> (tensor<1x16xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) {
  %w = util.global.load @w : tensor<8x16xf32>
  %f = stablehlo.convert %t : (tensor<1x1xi32>) -> tensor<1x1xf32>
  %b = stablehlo.broadcast_in_dim %f, dims = [0, 1] : (tensor<1x1xf32>) -> tensor<1x8xf32>
  %s = stablehlo.slice %k [0:1, 0:1, 0:8] : (tensor<2x4x8xf32>) -> tensor<1x1x8xf32>
  %s2 = stablehlo.reshape %s : (tensor<1x1x8xf32>) -> tensor<1x8xf32>
  %a = stablehlo.add %b, %s2 : tensor<1x8xf32>
  %l = stablehlo.dot_general %a, %w, contracting_dims = [1] x [0] : (tensor<1x8xf32>, tensor<8x16xf32>) -> tensor<1x16xf32>
  %z = stablehlo.constant dense<0> : tensor<i32>
  %ps = stablehlo.reshape %p : (tensor<1xi32>) -> tensor<i32>
  %u = stablehlo.reshape %a : (tensor<1x8xf32>) -> tensor<1x1x8xf32>
  %k2 = stablehlo.dynamic_update_slice %k, %u, %z, %ps, %z : (tensor<2x4x8xf32>, tensor<1x1x8xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<2x4x8xf32>
  %v2 = stablehlo.dynamic_update_slice %v, %u, %z, %ps, %z : (tensor<2x4x8xf32>, tensor<1x1x8xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<2x4x8xf32>
  return %l, %k2, %v2 : tensor<1x16xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
}
  func.func @generate(%arg0: tensor<1x4xi32>, %arg1: tensor<1xi32>, %arg2: tensor<1xi32>, %arg3: tensor<1xi32>) -> (tensor<1x4xi32>, tensor<1xi32>) {
    %0:3 = call @prefill(%arg0) : (tensor<1x4xi32>) -> (tensor<1x4x16xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
    %1 = stablehlo.reshape %0#0 : (tensor<1x4x16xf32>) -> tensor<4x16xf32>
    %c = stablehlo.constant dense<1> : tensor<1xi32>
    %2 = stablehlo.subtract %arg1, %c : tensor<1xi32>
    %3 = "stablehlo.gather"(%1, %2) <{dimension_numbers = #stablehlo.gather<offset_dims = [1], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1>, slice_sizes = array<i64: 1, 16>}> : (tensor<4x16xf32>, tensor<1xi32>) -> tensor<1x16xf32>
    %cst = stablehlo.constant dense<0xFF800000> : tensor<f32>
    %4 = stablehlo.reduce(%3 init: %cst) applies stablehlo.maximum across dimensions = [1] : (tensor<1x16xf32>, tensor<f32>) -> tensor<1xf32>
    %5 = stablehlo.broadcast_in_dim %4, dims = [0] : (tensor<1xf32>) -> tensor<1x16xf32>
    %6 = stablehlo.compare  EQ, %3, %5 : (tensor<1x16xf32>, tensor<1x16xf32>) -> tensor<1x16xi1>
    %7 = stablehlo.iota dim = 1 : tensor<1x16xi32>
    %c_0 = stablehlo.constant dense<16> : tensor<1x16xi32>
    %8 = stablehlo.select %6, %7, %c_0 : tensor<1x16xi1>, tensor<1x16xi32>
    %c_1 = stablehlo.constant dense<2147483647> : tensor<i32>
    %9 = stablehlo.reduce(%8 init: %c_1) applies stablehlo.minimum across dimensions = [1] : (tensor<1x16xi32>, tensor<i32>) -> tensor<1xi32>
    %c_2 = stablehlo.constant dense<0> : tensor<i32>
    %10 = stablehlo.reshape %9 : (tensor<1xi32>) -> tensor<1x1xi32>
    %11 = stablehlo.reshape %arg1 : (tensor<1xi32>) -> tensor<i32>
    %12 = stablehlo.dynamic_update_slice %arg0, %10, %c_2, %11 : (tensor<1x4xi32>, tensor<1x1xi32>, tensor<i32>, tensor<i32>) -> tensor<1x4xi32>
    %13 = stablehlo.add %arg1, %arg2 : tensor<1xi32>
    %14 = stablehlo.subtract %13, %c : tensor<1xi32>
    %15:5 = stablehlo.while(%iterArg = %arg1, %iterArg_3 = %9, %iterArg_4 = %0#1, %iterArg_5 = %0#2, %iterArg_6 = %12) : tensor<1xi32>, tensor<1xi32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<1x4xi32>
    cond {
      %16 = stablehlo.compare  LT, %iterArg, %14 : (tensor<1xi32>, tensor<1xi32>) -> tensor<1xi1>
      %17 = stablehlo.compare  NE, %iterArg_3, %arg3 : (tensor<1xi32>, tensor<1xi32>) -> tensor<1xi1>
      %18 = stablehlo.and %16, %17 : tensor<1xi1>
      %19 = stablehlo.reshape %18 : (tensor<1xi1>) -> tensor<i1>
      stablehlo.return %19 : tensor<i1>
    } do {
      %16 = stablehlo.reshape %iterArg_3 : (tensor<1xi32>) -> tensor<1x1xi32>
      %17:3 = func.call @decode(%16, %iterArg, %iterArg_4, %iterArg_5) : (tensor<1x1xi32>, tensor<1xi32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> (tensor<1x16xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      %cst_7 = stablehlo.constant dense<0xFF800000> : tensor<f32>
      %18 = stablehlo.reduce(%17#0 init: %cst_7) applies stablehlo.maximum across dimensions = [1] : (tensor<1x16xf32>, tensor<f32>) -> tensor<1xf32>
      %19 = stablehlo.broadcast_in_dim %18, dims = [0] : (tensor<1xf32>) -> tensor<1x16xf32>
      %20 = stablehlo.compare  EQ, %17#0, %19 : (tensor<1x16xf32>, tensor<1x16xf32>) -> tensor<1x16xi1>
      %21 = stablehlo.iota dim = 1 : tensor<1x16xi32>
      %c_8 = stablehlo.constant dense<16> : tensor<1x16xi32>
      %22 = stablehlo.select %20, %21, %c_8 : tensor<1x16xi1>, tensor<1x16xi32>
      %c_9 = stablehlo.constant dense<2147483647> : tensor<i32>
      %23 = stablehlo.reduce(%22 init: %c_9) applies stablehlo.minimum across dimensions = [1] : (tensor<1x16xi32>, tensor<i32>) -> tensor<1xi32>
      %24 = stablehlo.add %iterArg, %c : tensor<1xi32>
      %25 = stablehlo.reshape %23 : (tensor<1xi32>) -> tensor<1x1xi32>
      %26 = stablehlo.reshape %24 : (tensor<1xi32>) -> tensor<i32>
      %27 = stablehlo.dynamic_update_slice %iterArg_6, %25, %c_2, %26 : (tensor<1x4xi32>, tensor<1x1xi32>, tensor<i32>, tensor<i32>) -> tensor<1x4xi32>
      stablehlo.return %24, %23, %17#1, %17#2, %27 : tensor<1xi32>, tensor<1xi32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<1x4xi32>
    }
    return %15#4, %15#0 : tensor<1x4xi32>, tensor<1xi32>
  }
