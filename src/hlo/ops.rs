//! Typed builders for the StableHLO (and CHLO) ops irex emits, one room per
//! family. Each computes its result type from its operands, refuses what
//! cannot fit with a typed error naming the op and its location, and
//! carries a name location. All of them append through
//! [`FunctionBuilder`](crate::hlo::FunctionBuilder)'s one `build` path.

pub(super) mod constants;
pub(super) mod control;
pub(super) mod dot;
pub(super) mod elementwise;
pub(super) mod generic;
pub(super) mod indexing;
pub(super) mod reduce;
pub(super) mod shape;

use super::HloError;

pub(super) fn shape_error(op: &'static str, location: &str, message: String) -> HloError {
    HloError::Shape {
        op,
        location: location.to_string(),
        message,
    }
}
