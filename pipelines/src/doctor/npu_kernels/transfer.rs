//! Inputs made once on the host, rounded to the selected dtype and uploaded, so the device
//! and the CPU reference start from the same values; outputs downloaded and widened.

use candle_core::{DType as CandleDType, Device, Tensor};
use device::DType;
use ops_npu::OpsError;
use ops_npu::npu::{NpuStream, NpuTensor};

/// Why a case produced no comparison: the device side (refused or failed) or the CPU
/// reference (a bug here, reported rather than hidden).
#[derive(Debug)]
pub enum CaseError {
    Npu(OpsError),
    Cpu(candle_core::Error),
}

impl From<OpsError> for CaseError {
    fn from(e: OpsError) -> Self {
        CaseError::Npu(e)
    }
}

impl From<candle_core::Error> for CaseError {
    fn from(e: candle_core::Error) -> Self {
        CaseError::Cpu(e)
    }
}

pub type CaseResult<T> = Result<T, CaseError>;

fn candle_dtype(dtype: DType) -> CandleDType {
    match dtype {
        DType::F32 => CandleDType::F32,
        DType::F16 => CandleDType::F16,
        DType::BF16 => CandleDType::BF16,
    }
}

/// One input: the values rounded to the dtype, widened to f32 for the reference, and the
/// same values on the device in the dtype.
pub struct Input {
    pub cpu: Tensor,
    pub npu: NpuTensor,
}

pub fn upload(s: &NpuStream, values: Vec<f32>, shape: &[usize], dtype: DType) -> CaseResult<Input> {
    let rounded = Tensor::from_vec(values, shape, &Device::Cpu)?.to_dtype(candle_dtype(dtype))?;
    let flat = rounded.flatten_all()?;
    let npu = match dtype {
        DType::F32 => NpuTensor::upload(s, &flat.to_vec1::<f32>()?, shape)?,
        DType::F16 => NpuTensor::upload(s, &flat.to_vec1::<half::f16>()?, shape)?,
        DType::BF16 => NpuTensor::upload(s, &flat.to_vec1::<half::bf16>()?, shape)?,
    };
    Ok(Input {
        cpu: rounded.to_dtype(CandleDType::F32)?,
        npu,
    })
}

/// A device output widened to f32 (waits for the stream).
pub fn download(s: &NpuStream, t: &NpuTensor, dtype: DType) -> CaseResult<Vec<f32>> {
    Ok(match dtype {
        DType::F32 => t.download::<f32>(s)?,
        DType::F16 => widen(t.download::<half::f16>(s)?, half::f16::to_f32),
        DType::BF16 => widen(t.download::<half::bf16>(s)?, half::bf16::to_f32),
    })
}

fn widen<T>(values: Vec<T>, f: fn(T) -> f32) -> Vec<f32> {
    values.into_iter().map(f).collect()
}

/// The f32 reference rounded to the dtype, as a correctly rounded kernel's output is.
pub fn rounded(reference: &Tensor, dtype: DType) -> CaseResult<Vec<f32>> {
    Ok(reference
        .to_dtype(candle_dtype(dtype))?
        .to_dtype(CandleDType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}
