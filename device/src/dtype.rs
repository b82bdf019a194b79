//! Floating-point types and the policy that says which ones a device really supports.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A compute dtype for model weights and activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    F16,
    BF16,
}

impl DType {
    pub fn as_str(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
    }

    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a dtype (expected f32, f16 or bf16)")]
pub struct ParseDTypeError(pub String);

impl FromStr for DType {
    type Err = ParseDTypeError;

    /// Accepts our names and the torch spellings users paste from Python.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" | "float" => Ok(DType::F32),
            "f16" | "fp16" | "float16" | "half" => Ok(DType::F16),
            "bf16" | "bfloat16" => Ok(DType::BF16),
            _ => Err(ParseDTypeError(s.to_string())),
        }
    }
}

/// The dtypes a device supports and the one to use by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DTypeSupport {
    pub supported: Vec<DType>,
    pub best: DType,
}

impl DTypeSupport {
    fn from_flags(fp16: bool, bf16: bool) -> Self {
        let mut supported = vec![DType::F32];
        if fp16 {
            supported.push(DType::F16);
        }
        if bf16 {
            supported.push(DType::BF16);
        }
        // bf16 first: fp16 overflows in some DiT models (all-black images on NPU), and
        // bf16 keeps f32's range.
        let best = if bf16 {
            DType::BF16
        } else if fp16 {
            DType::F16
        } else {
            DType::F32
        };
        Self { supported, best }
    }

    /// CUDA by compute capability. `torch.cuda.is_bf16_supported()` says yes on older GPUs
    /// through emulation, which is slow and has produced black images, so the rule is
    /// the hardware one: bf16 from 8.0 (Ampere), fp16 from 5.3.
    pub fn cuda(major: u32, minor: u32) -> Self {
        let cc = (major, minor);
        Self::from_flags(cc >= (5, 3), cc >= (8, 0))
    }

    /// An NPU: fp16 always; bf16 when the runtime or the SoC table says so.
    pub fn npu(bf16: bool) -> Self {
        Self::from_flags(true, bf16)
    }

    /// The CPU computes every dtype (half types are converted), but f32 is the only one
    /// that is fast everywhere, so it is the default.
    pub fn cpu() -> Self {
        Self {
            supported: vec![DType::F32, DType::F16, DType::BF16],
            best: DType::F32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_capability_thresholds() {
        assert_eq!(DTypeSupport::cuda(5, 2).supported, vec![DType::F32]);
        assert_eq!(DTypeSupport::cuda(5, 3).best, DType::F16);
        assert_eq!(
            DTypeSupport::cuda(7, 5).supported,
            vec![DType::F32, DType::F16]
        );
        assert_eq!(DTypeSupport::cuda(8, 0).best, DType::BF16);
        assert_eq!(DTypeSupport::cuda(8, 6).supported.len(), 3);
    }

    #[test]
    fn parses_torch_spellings() {
        assert_eq!("bfloat16".parse::<DType>().unwrap(), DType::BF16);
        assert_eq!("FP16".parse::<DType>().unwrap(), DType::F16);
        assert!("int8".parse::<DType>().is_err());
    }
}
