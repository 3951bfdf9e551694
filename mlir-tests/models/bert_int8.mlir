// A real model's IR with `!quant.uniform` weights: the two-layer BERT
// folder of bert.mlir with int8 weights as quantize_int8.py stores
// MiniLM's (scripts/fixtures/tiny_bert.py --int8): per output row
// (axis 0) scales on the encoder's matrices, one scale and zero point on
// the word embeddings; the rest f32.
// The scales are the file's (numpy's float32 max|row| / 127, printed by
// MLIR as doubles): the first and last row of layer 0's query, and the
// word embeddings' scale:zero_point.
// Checked: every parameter global with its key and quantized type, the
// dequantizations the graph starts from, the names of model nodes in
// locations, and the `embed` signature.
// RUN: %python %S/../../scripts/fixtures/tiny_bert.py --int8 --out %t.bert
// RUN: irex export %t.bert -o - --irpa %t.irpa --seq-len 4 --emit text --locations | FileCheck %s
// RUN: irex export %t.bert -o - --irpa %t.irpa --seq-len 4 --emit text --locations | FileCheck %s --check-prefix=SCALES
// RUN: irex export %t.bert -o - --irpa %t.irpa --seq-len 4 --emit text --locations | FileCheck %s --check-prefix=NODES

// CHECK: module @bert
// CHECK: util.global private @embeddings_word_embeddings_weight = #flow.parameter.named<"model"::"embeddings.word_embeddings.weight"> : tensor<16x32x!quant.uniform<i8:f32, 0.0010850853286683559:11>> loc(
// CHECK-NEXT: util.global private @embeddings_position_embeddings_weight = #flow.parameter.named<"model"::"embeddings.position_embeddings.weight"> : tensor<16x32xf32> loc(
// CHECK-NEXT: util.global private @embeddings_token_type_embeddings_weight = #flow.parameter.named<"model"::"embeddings.token_type_embeddings.weight"> : tensor<2x32xf32> loc(
// CHECK-NEXT: util.global private @embeddings_LayerNorm_weight = #flow.parameter.named<"model"::"embeddings.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @embeddings_LayerNorm_bias = #flow.parameter.named<"model"::"embeddings.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_query_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.query.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_query_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.query.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_key_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.key.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_key_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.key.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_value_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.value.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_self_value_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.self.value.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.dense.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_attention_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.0.attention.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_intermediate_dense_weight = #flow.parameter.named<"model"::"encoder.layer.0.intermediate.dense.weight"> : tensor<64x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_intermediate_dense_bias = #flow.parameter.named<"model"::"encoder.layer.0.intermediate.dense.bias"> : tensor<64xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.0.output.dense.weight"> : tensor<32x64x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.0.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.0.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_0_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.0.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_query_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.query.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_query_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.query.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_key_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.key.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_key_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.key.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_value_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.value.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_self_value_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.self.value.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.dense.weight"> : tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_attention_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.1.attention.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_intermediate_dense_weight = #flow.parameter.named<"model"::"encoder.layer.1.intermediate.dense.weight"> : tensor<64x32x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_intermediate_dense_bias = #flow.parameter.named<"model"::"encoder.layer.1.intermediate.dense.bias"> : tensor<64xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_dense_weight = #flow.parameter.named<"model"::"encoder.layer.1.output.dense.weight"> : tensor<32x64x!quant.uniform<i8:f32:0, {{.*}}>> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_dense_bias = #flow.parameter.named<"model"::"encoder.layer.1.output.dense.bias"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_LayerNorm_weight = #flow.parameter.named<"model"::"encoder.layer.1.output.LayerNorm.weight"> : tensor<32xf32> loc(
// CHECK-NEXT: util.global private @encoder_layer_1_output_LayerNorm_bias = #flow.parameter.named<"model"::"encoder.layer.1.output.LayerNorm.bias"> : tensor<32xf32> loc(
// CHECK-NOT: util.global
// CHECK-LABEL: func.func @embed(%arg0: tensor<1x4xi32> {iree.abi.name = "input_ids"} loc("embed"), %arg1: tensor<1x4xi32> {iree.abi.name = "attention_mask"} loc("embed"), %arg2: tensor<1x4xi32> {iree.abi.name = "token_type_ids"} loc("embed")) -> (tensor<1x32xf32> {iree.abi.name = "embeddings"})
// CHECK: stablehlo.uniform_dequantize %embeddings_word_embeddings_weight : (tensor<16x32x!quant.uniform<i8:f32, 0.0010850853286683559:11>>) -> tensor<16x32xf32>
// CHECK: stablehlo.uniform_dequantize %encoder_layer_0_attention_self_query_weight : (tensor<32x32x!quant.uniform<i8:f32:0, {{.*}}>>) -> tensor<32x32xf32>
// CHECK: return {{.*}} : tensor<1x32xf32> loc(

// SCALES: @encoder_layer_0_attention_self_query_weight = {{.*}}<i8:f32:0, {7.4889330426231027E-4,9.0467469999566674E-4,
// SCALES-SAME: ,0.0013346438063308597}>> loc(

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
