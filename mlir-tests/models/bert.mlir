// A real model's IR: a two-layer sentence-transformers BERT folder
// (scripts/fixtures/tiny_bert.py: hidden 32, 2 heads, intermediate 64,
// vocabulary 16; mean pooling, then Normalize), exported as `irex export`
// exports it. Weights: f32, external, keyed by their safetensors names
// (`embeddings.position_ids` and the unused pooler are not parameters).
// Checked: every parameter global with its key and type, the names of
// model nodes in locations, and the `embed` signature.
// RUN: %python %S/../../scripts/fixtures/tiny_bert.py --out %t.bert
// RUN: irex export %t.bert -o - --irpa %t.irpa --seq-len 4 --emit text --locations | FileCheck %s
// RUN: irex export %t.bert -o - --irpa %t.irpa --seq-len 4 --emit text --locations | FileCheck %s --check-prefix=NODES

// CHECK: module @bert
// CHECK: util.global private @embeddings_word_embeddings_weight = #flow.parameter.named<"model"::"embeddings.word_embeddings.weight"> : tensor<16x32xf32> loc(
// CHECK-NEXT: util.global private @embeddings_position_embeddings_weight = #flow.parameter.named<"model"::"embeddings.position_embeddings.weight"> : tensor<16x32xf32> loc(
// CHECK-NEXT: util.global private @embeddings_token_type_embeddings_weight = #flow.parameter.named<"model"::"embeddings.token_type_embeddings.weight"> : tensor<2x32xf32> loc(
// CHECK-NEXT: util.global private @embeddings_LayerNorm_weight = #flow.parameter.named<"model"::"embeddings.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @embeddings_LayerNorm_bias = #flow.parameter.named<"model"::"embeddings.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_query_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.query.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_query_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.query.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_key_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.key.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_key_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.key.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_value_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.value.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_value_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.value.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.dense.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_intermediate_dense_weight = #flow.parameter.named<"model"::"encoder.layer.0.intermediate.dense.weight"> : tensor<64x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_intermediate_dense_bias = #flow.parameter.named<"model"::"encoder.layer.0.intermediate.dense.bias"> : tensor<64xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.0.output.dense.weight"> : tensor<32x64xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.0.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.0.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.0.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_query_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.query.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_query_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.query.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_key_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.key.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_key_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.key.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_value_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.value.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_value_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.value.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.dense.weight"> : tensor<32x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_intermediate_dense_weight = #flow.parameter.named<"model"::"encoder.layer.1.intermediate.dense.weight"> : tensor<64x32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_intermediate_dense_bias = #flow.parameter.named<"model"::"encoder.layer.1.intermediate.dense.bias"> : tensor<64xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.1.output.dense.weight"> : tensor<32x64xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.1.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.1.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.1.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NOT: util.global
// CHECK-LABEL: func.func @embed(%arg0: tensor<1x4xi32> {iree.abi.name = "input_ids"} loc("embed"), %arg1: tensor<1x4xi32> {iree.abi.name = "attention_mask"} loc("embed"), %arg2: tensor<1x4xi32> {iree.abi.name = "token_type_ids"} loc("embed")) -> (tensor<1x32xf32> {iree.abi.name = "embeddings"})
// CHECK: util.global.load @encoder_layer_0_attention_self_query_weight : tensor<32x32xf32>
// CHECK: return {{.*}} : tensor<1x32xf32> loc(

// The ops of model nodes carry their names: embeddings, every layer's
// attention and feed-forward, the pooling and normalisation after them.
// NODES-DAG: #loc{{[0-9]+}} = loc("embeddings.word_embeddings")
// NODES-DAG: #loc{{[0-9]+}} = loc("embeddings.LayerNorm.normalize")
// NODES-DAG: #loc{{[0-9]+}} = loc("attention_mask.bias")
// NODES-DAG: #loc{{[0-9]+}} = loc("encoder.layer.0.attention.self.query")
// NODES-DAG: #loc{{[0-9]+}} = loc("encoder.layer.0.attention.self.softmax")
// NODES-DAG: #loc{{[0-9]+}} = loc("encoder.layer.1.attention.output.dense")
// NODES-DAG: #loc{{[0-9]+}} = loc("encoder.layer.1.intermediate.dense")
// NODES-DAG: #loc{{[0-9]+}} = loc("encoder.layer.1.output.LayerNorm.normalize")
// NODES-DAG: #loc{{[0-9]+}} = loc("pooling.mean")
// NODES-DAG: #loc{{[0-9]+}} = loc("normalize.divide")
// NODES-DAG: #loc{{[0-9]+}} = loc("embed.return")
