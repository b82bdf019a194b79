//! Host element types that travel to and from the device, as little-endian bytes without
//! unsafe casts.

use super::dtype::NpuDType;

pub trait Bytes: Copy {
    const NPU_DTYPE: NpuDType;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

macro_rules! le_bytes {
    ($t:ty, $d:expr, $n:expr) => {
        impl Bytes for $t {
            const NPU_DTYPE: NpuDType = $d;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(b: &[u8]) -> Self {
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                <$t>::from_le_bytes(a)
            }
        }
    };
}

le_bytes!(f32, NpuDType::F32, 4);
le_bytes!(i64, NpuDType::I64, 8);
le_bytes!(i32, NpuDType::I32, 4);
le_bytes!(u8, NpuDType::U8, 1);

macro_rules! half_bytes {
    ($t:ty, $d:expr) => {
        impl Bytes for $t {
            const NPU_DTYPE: NpuDType = $d;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_bits().to_le_bytes());
            }
            fn get(b: &[u8]) -> Self {
                <$t>::from_bits(u16::from_le_bytes([b[0], b[1]]))
            }
        }
    };
}

half_bytes!(half::f16, NpuDType::F16);
half_bytes!(half::bf16, NpuDType::BF16);

impl Bytes for bool {
    const NPU_DTYPE: NpuDType = NpuDType::Bool;
    fn put(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
    fn get(b: &[u8]) -> Self {
        b[0] != 0
    }
}
