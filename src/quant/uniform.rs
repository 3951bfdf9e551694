//! Weights stored as integers with per-tensor or per-axis affine scales:
//! `real = (stored − zero_point) · scale`, the parameters of MLIR's
//! `!quant.uniform` element type (with f32 as the expressed type).
//!
//! This is the description only: its MLIR type text (built with round-trip
//! float formatting, which MLIR prints back losslessly) and the reader of
//! what MLIR prints. The converter (`hlo::quant`) declares weights of that
//! type and lowers them for IREE.

use std::fmt::Write as _;

use crate::tensor::ElementType;

/// The parameters of a `!quant.uniform` element type with f32 as the
/// expressed type.
#[derive(Clone, Debug, PartialEq)]
pub struct UniformQuantization {
    /// The stored integer type: i8, u8, i16 or u16.
    pub storage: ElementType,
    /// The quantized dimension, or `None` for one scale for the whole tensor.
    pub axis: Option<usize>,
    /// One scale, or one per index of `axis`.
    pub scales: Vec<f64>,
    /// Zero points, paired with `scales`.
    pub zero_points: Vec<i64>,
}

impl UniformQuantization {
    /// One scale and zero point for the whole tensor.
    pub fn per_tensor(storage: ElementType, scale: f64, zero_point: i64) -> Self {
        Self {
            storage,
            axis: None,
            scales: vec![scale],
            zero_points: vec![zero_point],
        }
    }

    /// A scale and zero point per index of dimension `axis`.
    pub fn per_axis(
        storage: ElementType,
        axis: usize,
        scales: Vec<f64>,
        zero_points: Vec<i64>,
    ) -> Self {
        Self {
            storage,
            axis: Some(axis),
            scales,
            zero_points,
        }
    }

    /// Checks the parameters against a tensor of `shape`: a supported
    /// storage type, finite positive scales, zero points the storage type
    /// can hold, and one pair per index of the axis.
    pub fn check(&self, shape: &[u64]) -> Result<(), String> {
        let (low, high) = storage_range(self.storage).ok_or_else(|| {
            format!(
                "storage type {}: !quant.uniform weights are stored as i8, u8, i16 or u16",
                self.storage
            )
        })?;
        let expected = match self.axis {
            None => 1,
            Some(axis) => *shape
                .get(axis)
                .ok_or_else(|| format!("quantized axis {axis} of a rank-{} tensor", shape.len()))?,
        };
        if self.scales.len() as u64 != expected || self.zero_points.len() != self.scales.len() {
            return Err(format!(
                "{} scales and {} zero points, expected {expected} of each",
                self.scales.len(),
                self.zero_points.len()
            ));
        }
        if let Some(bad) = self.scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(format!("scale {bad}: scales must be finite and positive"));
        }
        if let Some(bad) = self.zero_points.iter().find(|z| !(low..=high).contains(*z)) {
            return Err(format!(
                "zero point {bad} outside the {} range {low}..={high}",
                self.storage
            ));
        }
        Ok(())
    }

    /// Returns whether every zero point is 0 (symmetric quantization).
    pub fn is_symmetric(&self) -> bool {
        self.zero_points.iter().all(|&z| z == 0)
    }

    /// Returns the element type's MLIR form, e.g.
    /// `!quant.uniform<i8:f32:0, {5.0e-1,2.5e-1:3}>`.
    pub fn element_source(&self) -> String {
        let storage = match self.storage {
            ElementType::U8 => "u8".to_string(),
            ElementType::U16 => "u16".to_string(),
            other => other.to_string(),
        };
        let pair = |scale: f64, zero: i64| {
            let mut text = float_literal(scale);
            if zero != 0 {
                write!(text, ":{zero}").expect("writing to a String");
            }
            text
        };
        let pairs: Vec<String> = self
            .scales
            .iter()
            .zip(&self.zero_points)
            .map(|(&s, &z)| pair(s, z))
            .collect();
        match self.axis {
            None => format!("!quant.uniform<{storage}:f32, {}>", pairs[0]),
            Some(axis) => format!(
                "!quant.uniform<{storage}:f32:{axis}, {{{}}}>",
                pairs.join(",")
            ),
        }
    }

    /// Returns the `tensor<SHAPE x !quant.uniform<...>>` form.
    pub fn tensor_source(&self, shape: &[u64]) -> String {
        let mut text = "tensor<".to_string();
        for dimension in shape {
            write!(text, "{dimension}x").expect("writing to a String");
        }
        format!("{text}{}>", self.element_source())
    }

    /// Reads the parameters back from a printed `!quant.uniform<...>`
    /// element type (as MLIR prints it: storage, an optional `<min:max>`
    /// range, `f32`, an optional axis, then `scale[:zero]` or a braced list).
    pub fn parse(text: &str) -> Result<Self, String> {
        let unsupported = || format!("`{text}` is not an f32 !quant.uniform type irex lowers");
        let body = text
            .trim()
            .strip_prefix("!quant.uniform<")
            .and_then(|rest| rest.strip_suffix('>'))
            .ok_or_else(unsupported)?;
        let (head, parameters) = body.split_once(", ").ok_or_else(unsupported)?;
        let (storage_text, rest) = split_storage(head).ok_or_else(unsupported)?;
        let storage = match storage_text {
            "i8" => ElementType::I8,
            "u8" => ElementType::U8,
            "i16" => ElementType::I16,
            "u16" => ElementType::U16,
            _ => return Err(unsupported()),
        };
        let mut fields = rest.split(':');
        if fields.next() != Some("f32") {
            return Err(unsupported());
        }
        let axis = match fields.next() {
            None => None,
            Some(axis) => Some(axis.parse().map_err(|_| unsupported())?),
        };
        let list = match (axis, parameters.strip_prefix('{')) {
            (Some(_), Some(list)) => list.strip_suffix('}').ok_or_else(unsupported)?,
            (None, None) => parameters,
            _ => return Err(unsupported()),
        };
        let mut quantization = Self {
            storage,
            axis,
            scales: Vec::new(),
            zero_points: Vec::new(),
        };
        for pair in list.split(',') {
            let (scale, zero) = pair.trim().split_once(':').unwrap_or((pair.trim(), "0"));
            quantization
                .scales
                .push(scale.parse().map_err(|_| unsupported())?);
            quantization
                .zero_points
                .push(zero.parse().map_err(|_| unsupported())?);
        }
        Ok(quantization)
    }
}

/// Splits `i8<-127:127>:f32:0` into `i8` and `f32:0` (dropping the range,
/// which only limits what quantization produces, not how values dequantize).
fn split_storage(head: &str) -> Option<(&str, &str)> {
    match head.find(['<', ':'])? {
        at if head[at..].starts_with('<') => {
            let close = head.find('>')?;
            Some((&head[..at], head[close + 1..].strip_prefix(':')?))
        }
        at => Some((&head[..at], &head[at + 1..])),
    }
}

/// The values a storage type holds, or `None` for a type irex does not store.
fn storage_range(storage: ElementType) -> Option<(i64, i64)> {
    match storage {
        ElementType::I8 => Some((i8::MIN.into(), i8::MAX.into())),
        ElementType::U8 => Some((0, u8::MAX.into())),
        ElementType::I16 => Some((i16::MIN.into(), i16::MAX.into())),
        ElementType::U16 => Some((0, u16::MAX.into())),
        _ => None,
    }
}

/// Formats `value` so MLIR reads back the same double: Rust's shortest
/// round-trip digits, with the `.` MLIR's float literals need.
fn float_literal(value: f64) -> String {
    let text = format!("{value:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !mantissa.contains('.') => {
            format!("{mantissa}.0e{exponent}")
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_literals_round_trip_and_carry_a_point() {
        for value in [0.5, 0.25, 1.0, 0.0123456789012345, 3.0e-8, 1234.5678] {
            let text = float_literal(value);
            assert!(text.contains('.'), "{text}");
            assert_eq!(text.parse::<f64>().unwrap(), value);
        }
    }

    #[test]
    fn parses_what_mlir_prints() {
        let per_axis = UniformQuantization::parse(
            "!quant.uniform<i8:f32:1, {0.012345678901234501:3,2.500000e-01}>",
        )
        .unwrap();
        assert_eq!(
            per_axis,
            UniformQuantization::per_axis(
                ElementType::I8,
                1,
                vec![0.0123456789012345, 0.25],
                vec![3, 0]
            )
        );
        let per_tensor =
            UniformQuantization::parse("!quant.uniform<u8<1:255>:f32, 5.000000e-01:-7>");
        assert_eq!(
            per_tensor.unwrap(),
            UniformQuantization::per_tensor(ElementType::U8, 0.5, -7)
        );
        for bad in [
            "!quant.uniform<i8:f16, 1.0>",
            "!quant.uniform<i32:f32, 1.0>",
            "!quant.uniform<i8:f32:0, 1.0>",
            "!quant.uniform<i8:f32, {1.0}>",
            "!quant.any<i8:f32>",
            "!quant.uniform<i8:f32, x>",
        ] {
            assert!(UniformQuantization::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn element_source_is_what_parse_reads() {
        let quantization =
            UniformQuantization::per_axis(ElementType::U8, 0, vec![0.1, 3.0e-8], vec![128, 0]);
        assert_eq!(
            quantization.element_source(),
            "!quant.uniform<u8:f32:0, {1.0e-1:128,3.0e-8}>"
        );
        assert_eq!(
            UniformQuantization::parse(&quantization.element_source()).unwrap(),
            quantization
        );
    }

    #[test]
    fn check_refuses_what_cannot_dequantize() {
        let shape = [2, 3];
        let ok = UniformQuantization::per_axis(ElementType::I8, 0, vec![0.5, 0.25], vec![0, -3]);
        assert_eq!(ok.check(&shape), Ok(()));
        let cases = [
            (
                UniformQuantization::per_axis(ElementType::I8, 1, vec![0.5, 0.25], vec![0, 0]),
                "expected 3",
            ),
            (
                UniformQuantization::per_axis(ElementType::I8, 2, vec![0.5], vec![0]),
                "axis 2",
            ),
            (
                UniformQuantization::per_tensor(ElementType::I8, 0.0, 0),
                "finite and positive",
            ),
            (
                UniformQuantization::per_tensor(ElementType::I8, f64::NAN, 0),
                "finite and positive",
            ),
            (
                UniformQuantization::per_tensor(ElementType::I8, 1.0, 128),
                "outside",
            ),
            (
                UniformQuantization::per_tensor(ElementType::U8, 1.0, -1),
                "outside",
            ),
            (
                UniformQuantization::per_tensor(ElementType::F32, 1.0, 0),
                "storage type",
            ),
        ];
        for (quantization, expected) in cases {
            let message = quantization.check(&shape).unwrap_err();
            assert!(message.contains(expected), "{message}");
        }
    }
}
