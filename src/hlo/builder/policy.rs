//! The per-weight decision between inline and external, and the references
//! the converter hands to the `.irpa` writer.

use std::fmt;
use std::str::FromStr;

use crate::formats::irpa::{ArchiveEntry, DEFAULT_DATA_ALIGNMENT, EntryContents};
use crate::tensor::{BufferHandle, TensorSpec};

/// Where a weight's values go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConstantMaterializationPolicy {
    /// Every weight is an inline binary attribute in the module.
    #[default]
    InlineAlways,
    /// Every weight is a `#flow.parameter.named` global backed by the `.irpa`.
    ExternalAlways,
    /// Weights of at least this many bytes are external; smaller ones inline.
    SizeThreshold(u64),
}

impl ConstantMaterializationPolicy {
    /// Returns whether a weight of `bytes` bytes goes to the `.irpa`.
    pub fn is_external(self, bytes: u64) -> bool {
        match self {
            Self::InlineAlways => false,
            Self::ExternalAlways => true,
            Self::SizeThreshold(threshold) => bytes >= threshold,
        }
    }
}

impl FromStr for ConstantMaterializationPolicy {
    type Err = String;

    /// Parses `inline`, `external` or `threshold=BYTES`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "inline" => Ok(Self::InlineAlways),
            "external" => Ok(Self::ExternalAlways),
            _ => text
                .strip_prefix("threshold=")
                .and_then(|bytes| bytes.parse().ok())
                .map(Self::SizeThreshold)
                .ok_or_else(|| {
                    format!("unknown policy `{text}`: use inline, external or threshold=BYTES")
                }),
        }
    }
}

impl fmt::Display for ConstantMaterializationPolicy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InlineAlways => formatter.write_str("inline"),
            Self::ExternalAlways => formatter.write_str("external"),
            Self::SizeThreshold(bytes) => write!(formatter, "threshold={bytes}"),
        }
    }
}

/// A weight the module reads through `#flow.parameter.named<"scope"::"key">`:
/// what the `.irpa` writer needs to store it. The bytes stay in `source`.
#[derive(Clone, Debug)]
pub struct ExternalParameterRef {
    /// The parameter scope (`--parameters=SCOPE=file.irpa` at run time).
    pub scope: String,
    /// The key inside the archive.
    pub key: String,
    /// Shape, element type and encoding.
    pub spec: TensorSpec,
    /// Where the bytes are.
    pub source: BufferHandle,
    /// The repeated unit, when the tensor is uniform: stored as a SPLAT entry.
    pub splat: Option<Vec<u8>>,
}

impl ExternalParameterRef {
    /// Returns the archive entry that stores this parameter.
    pub fn archive_entry(&self) -> ArchiveEntry {
        let contents = match &self.splat {
            Some(pattern) => EntryContents::Splat {
                pattern: pattern.clone(),
                length: self.source.len(),
            },
            None => EntryContents::Data {
                buffer: self.source.clone(),
                alignment: DEFAULT_DATA_ALIGNMENT,
            },
        };
        ArchiveEntry {
            name: self.key.clone(),
            contents,
        }
    }
}

/// Returns the archive entries for `parameters`, in order.
pub fn archive_entries(parameters: &[ExternalParameterRef]) -> Vec<ArchiveEntry> {
    parameters
        .iter()
        .map(ExternalParameterRef::archive_entry)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_decide() {
        let threshold: ConstantMaterializationPolicy = "threshold=16".parse().unwrap();
        assert!(!threshold.is_external(15));
        assert!(threshold.is_external(16));
        assert!(
            "external"
                .parse::<ConstantMaterializationPolicy>()
                .unwrap()
                .is_external(0)
        );
        assert!(!ConstantMaterializationPolicy::InlineAlways.is_external(u64::MAX));
        assert!(
            "threshold=x"
                .parse::<ConstantMaterializationPolicy>()
                .is_err()
        );
        assert_eq!(threshold.to_string(), "threshold=16");
    }
}
