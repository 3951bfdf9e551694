//! A byte-built one-block llama GGUF for the tests that need a whole model
//! file without the 100 MB SmolLM2: well-formed by default, spoilable one
//! key or tensor at a time.

/// GGUF metadata values the tests write.
pub enum Value {
    /// `u32`
    U32(u32),
    /// `u64`
    U64(u64),
    /// `f32`
    F32(f32),
    /// A string.
    Str(&'static str),
    /// An array of strings.
    Strings(Vec<String>),
    /// An array of `u32`s.
    U32s(Vec<u32>),
}

impl Value {
    fn write(&self, out: &mut Vec<u8>) {
        let string = |out: &mut Vec<u8>, text: &str| {
            out.extend((text.len() as u64).to_le_bytes());
            out.extend(text.as_bytes());
        };
        match self {
            Self::U32(value) => {
                out.extend(4u32.to_le_bytes().into_iter().chain(value.to_le_bytes()))
            }
            Self::U64(value) => {
                out.extend(10u32.to_le_bytes().into_iter().chain(value.to_le_bytes()))
            }
            Self::F32(value) => {
                out.extend(6u32.to_le_bytes().into_iter().chain(value.to_le_bytes()))
            }
            Self::Str(text) => {
                out.extend(8u32.to_le_bytes());
                string(out, text);
            }
            Self::Strings(items) => {
                out.extend(9u32.to_le_bytes().into_iter().chain(8u32.to_le_bytes()));
                out.extend((items.len() as u64).to_le_bytes());
                items.iter().for_each(|item| string(out, item));
            }
            Self::U32s(items) => {
                out.extend(9u32.to_le_bytes().into_iter().chain(4u32.to_le_bytes()));
                out.extend((items.len() as u64).to_le_bytes());
                items.iter().for_each(|item| out.extend(item.to_le_bytes()));
            }
        }
    }
}

/// A one-block llama (width 8, 2 heads, 1 KV head, feed-forward 16,
/// vocabulary 4) with f32 weights: metadata keys and tensors (name, shape
/// outermost first), each replaceable by a test.
pub struct TinyLlama {
    metadata: Vec<(&'static str, Value)>,
    tensors: Vec<(String, Vec<u64>)>,
}

impl TinyLlama {
    /// The well-formed model; every other case spoils one part of it.
    pub fn new() -> Self {
        let tokens = ["a", "b", "ab", "<|end|>"].map(String::from).to_vec();
        let metadata = vec![
            ("general.architecture", Value::Str("llama")),
            ("llama.block_count", Value::U32(1)),
            ("llama.context_length", Value::U32(16)),
            ("llama.embedding_length", Value::U32(8)),
            ("llama.feed_forward_length", Value::U32(16)),
            ("llama.attention.head_count", Value::U32(2)),
            ("llama.attention.head_count_kv", Value::U32(1)),
            ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
            ("tokenizer.ggml.model", Value::Str("gpt2")),
            ("tokenizer.ggml.tokens", Value::Strings(tokens)),
            ("tokenizer.ggml.merges", Value::Strings(vec!["a b".into()])),
            ("tokenizer.ggml.eos_token_id", Value::U32(3)),
        ];
        let mut tensors = vec![
            ("token_embd.weight".to_string(), vec![4, 8]),
            ("output_norm.weight".to_string(), vec![8]),
        ];
        for (part, shape) in [
            ("attn_norm", vec![8]),
            ("attn_q", vec![8, 8]),
            ("attn_k", vec![4, 8]),
            ("attn_v", vec![4, 8]),
            ("attn_output", vec![8, 8]),
            ("ffn_norm", vec![8]),
            ("ffn_gate", vec![16, 8]),
            ("ffn_up", vec![16, 8]),
            ("ffn_down", vec![8, 16]),
        ] {
            tensors.push((format!("blk.0.{part}.weight"), shape));
        }
        Self { metadata, tensors }
    }

    /// Sets (or replaces) metadata `key`.
    pub fn set(mut self, key: &'static str, value: Value) -> Self {
        self.metadata.retain(|(existing, _)| *existing != key);
        self.metadata.push((key, value));
        self
    }

    /// Gives tensor `name` another shape.
    pub fn reshape(mut self, name: &str, shape: &[u64]) -> Self {
        let tensor = self.tensors.iter_mut().find(|(n, _)| n == name).unwrap();
        tensor.1 = shape.to_vec();
        self
    }

    /// The GGUF file.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            out.extend((key.len() as u64).to_le_bytes());
            out.extend(key.as_bytes());
            value.write(&mut out);
        }
        let mut offset = 0u64;
        for (name, shape) in &self.tensors {
            out.extend((name.len() as u64).to_le_bytes());
            out.extend(name.as_bytes());
            out.extend((shape.len() as u32).to_le_bytes());
            shape
                .iter()
                .rev()
                .for_each(|dim| out.extend(dim.to_le_bytes()));
            out.extend(0u32.to_le_bytes()); // F32
            out.extend(offset.to_le_bytes());
            offset += (shape.iter().product::<u64>() * 4).next_multiple_of(32);
        }
        out.resize(out.len().next_multiple_of(32), 0);
        out.resize(out.len() + offset as usize, 0x3c);
        out
    }
}
