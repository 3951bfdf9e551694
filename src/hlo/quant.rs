//! The quantized-weight room: ggml blocks unpacked by StableHLO in the
//! module (`ggml`) or contracted as integers without unpacking
//! (`contract`), `!quant.uniform` weights (`uniform`), and the lowering
//! of the latter to integer arithmetic for IREE (`lower`).

pub(super) mod contract;
pub(super) mod ggml;
pub(super) mod lower;
pub(super) mod uniform;
