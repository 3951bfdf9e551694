// A real model's IR: a two-block llama GGUF whose matrices are Q5_K
// (scripts/fixtures/tiny_llama.py; hidden 256, 4 heads, 2 KV heads,
// feed-forward 512, vocabulary 8), exported as `irex export` exports it.
// Weights: packed blocks kept verbatim: [rows, columns / 256, 176] i8 (the gguf package's GGML_QUANT_SIZES: 256 weights in 176 bytes); norms f32.
// Checked: every parameter global with its key and type, the names of
// model nodes in locations, and the prefill and decode signatures.
// RUN: %python %S/../../scripts/fixtures/tiny_llama.py --type Q5_K --out %t.gguf
// RUN: irex export %t.gguf -o - --irpa %t.irpa --seq-len 4 --emit text --locations | FileCheck %s
// RUN: irex export %t.gguf -o - --irpa %t.irpa --seq-len 4 --emit text --locations | FileCheck %s --check-prefix=NODES

// CHECK: module @llama
// CHECK: util.global private @token_embd_weight = #flow.parameter.named<"model"::"token_embd.weight"> : tensor<8x1x176xi8> loc([[EMBD:#loc[0-9]+]])
// CHECK-NEXT: util.global private @blk_0_attn_norm_weight = #flow.parameter.named<"model"::"blk.0.attn_norm.weight"> : tensor<256xf32> loc(
// CHECK-NEXT: util.global private @blk_0_attn_q_weight = #flow.parameter.named<"model"::"blk.0.attn_q.weight"> : tensor<256x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_0_attn_k_weight = #flow.parameter.named<"model"::"blk.0.attn_k.weight"> : tensor<128x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_0_attn_v_weight = #flow.parameter.named<"model"::"blk.0.attn_v.weight"> : tensor<128x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_0_attn_output_weight = #flow.parameter.named<"model"::"blk.0.attn_output.weight"> : tensor<256x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_0_ffn_norm_weight = #flow.parameter.named<"model"::"blk.0.ffn_norm.weight"> : tensor<256xf32> loc(
// CHECK-NEXT: util.global private @blk_0_ffn_gate_weight = #flow.parameter.named<"model"::"blk.0.ffn_gate.weight"> : tensor<512x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_0_ffn_up_weight = #flow.parameter.named<"model"::"blk.0.ffn_up.weight"> : tensor<512x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_0_ffn_down_weight = #flow.parameter.named<"model"::"blk.0.ffn_down.weight"> : tensor<256x2x176xi8> loc(
// CHECK-NEXT: util.global private @blk_1_attn_norm_weight = #flow.parameter.named<"model"::"blk.1.attn_norm.weight"> : tensor<256xf32> loc(
// CHECK-NEXT: util.global private @blk_1_attn_q_weight = #flow.parameter.named<"model"::"blk.1.attn_q.weight"> : tensor<256x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_1_attn_k_weight = #flow.parameter.named<"model"::"blk.1.attn_k.weight"> : tensor<128x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_1_attn_v_weight = #flow.parameter.named<"model"::"blk.1.attn_v.weight"> : tensor<128x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_1_attn_output_weight = #flow.parameter.named<"model"::"blk.1.attn_output.weight"> : tensor<256x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_1_ffn_norm_weight = #flow.parameter.named<"model"::"blk.1.ffn_norm.weight"> : tensor<256xf32> loc(
// CHECK-NEXT: util.global private @blk_1_ffn_gate_weight = #flow.parameter.named<"model"::"blk.1.ffn_gate.weight"> : tensor<512x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_1_ffn_up_weight = #flow.parameter.named<"model"::"blk.1.ffn_up.weight"> : tensor<512x1x176xi8> loc(
// CHECK-NEXT: util.global private @blk_1_ffn_down_weight = #flow.parameter.named<"model"::"blk.1.ffn_down.weight"> : tensor<256x2x176xi8> loc([[DOWN1:#loc[0-9]+]])
// CHECK-NEXT: util.global private @output_norm_weight = #flow.parameter.named<"model"::"output_norm.weight"> : tensor<256xf32> loc(
// CHECK-LABEL: func.func @prefill(%arg0: tensor<1x4xi32> {iree.abi.name = "tokens"} loc("prefill")) -> (tensor<1x4x8xf32> {iree.abi.name = "logits"}, tensor<2x2x4x64xf32> {iree.abi.name = "keys"}, tensor<2x2x4x64xf32> {iree.abi.name = "values"})
// CHECK: util.global.load @blk_0_attn_q_weight : tensor<256x1x176xi8>
// CHECK-LABEL: func.func @decode(%arg0: tensor<1x1xi32> {iree.abi.name = "token"} loc("decode"), %arg1: tensor<1xi32> {iree.abi.name = "position"} loc("decode"), %arg2: tensor<2x2x4x64xf32> {iree.abi.name = "keys"} loc("decode"), %arg3: tensor<2x2x4x64xf32> {iree.abi.name = "values"} loc("decode")) -> (tensor<1x8xf32> {iree.abi.name = "logits"}, tensor<2x2x4x64xf32> {iree.abi.name = "keys"}, tensor<2x2x4x64xf32> {iree.abi.name = "values"})
// CHECK: util.global.load @blk_1_ffn_down_weight : tensor<256x2x176xi8>
// CHECK-DAG: [[EMBD]] = loc("token_embd.weight")
// CHECK-DAG: [[DOWN1]] = loc("blk.1.ffn_down.weight")

// The ops of model nodes carry their names, in every block.
// NODES-DAG: #loc{{[0-9]+}} = loc("token_embd")
// NODES-DAG: #loc{{[0-9]+}} = loc("blk.0.attn_q")
// NODES-DAG: #loc{{[0-9]+}} = loc("blk.0.ffn_gate")
// NODES-DAG: #loc{{[0-9]+}} = loc("blk.1.attn_output")
// NODES-DAG: #loc{{[0-9]+}} = loc("blk.1.ffn_down")
