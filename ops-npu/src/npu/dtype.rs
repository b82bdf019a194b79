//! Element types of device tensors: the floating types the models compute in, plus the
//! integer and boolean types of indices and masks.

use device::DType;

/// A device tensor's element type, with its ACL code (aclDataType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NpuDType {
    F32,
    F16,
    BF16,
    I64,
    I32,
    U8,
    Bool,
}

impl NpuDType {
    pub fn acl_code(self) -> i32 {
        match self {
            NpuDType::F32 => 0,
            NpuDType::F16 => 1,
            NpuDType::I32 => 3,
            NpuDType::U8 => 4,
            NpuDType::I64 => 9,
            NpuDType::Bool => 12,
            NpuDType::BF16 => 27,
        }
    }

    pub fn size_in_bytes(self) -> usize {
        match self {
            NpuDType::F32 | NpuDType::I32 => 4,
            NpuDType::F16 | NpuDType::BF16 => 2,
            NpuDType::I64 => 8,
            NpuDType::U8 | NpuDType::Bool => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NpuDType::F32 => "f32",
            NpuDType::F16 => "f16",
            NpuDType::BF16 => "bf16",
            NpuDType::I64 => "i64",
            NpuDType::I32 => "i32",
            NpuDType::U8 => "u8",
            NpuDType::Bool => "bool",
        }
    }

    /// The floating type, for the floating dtypes.
    pub fn float(self) -> Option<DType> {
        match self {
            NpuDType::F32 => Some(DType::F32),
            NpuDType::F16 => Some(DType::F16),
            NpuDType::BF16 => Some(DType::BF16),
            _ => None,
        }
    }

    pub fn is_float(self) -> bool {
        self.float().is_some()
    }
}

impl From<DType> for NpuDType {
    fn from(d: DType) -> Self {
        match d {
            DType::F32 => NpuDType::F32,
            DType::F16 => NpuDType::F16,
            DType::BF16 => NpuDType::BF16,
        }
    }
}

impl std::fmt::Display for NpuDType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
