//! The quantized-weight room: ggml blocks unpacked by StableHLO in the
//! module (`ggml`), `!quant.uniform` weights (`uniform`), and the lowering
//! of the latter to integer arithmetic for IREE (`lower`).

pub(super) mod ggml;
pub(super) mod lower;
pub(super) mod uniform;
