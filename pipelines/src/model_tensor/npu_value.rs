//! The NPU arm: an ops-npu device tensor and the context (runtime, stream) it belongs to.

use super::context::NpuContext;
use candle_core::{DType, Error, Result};
use ops_npu::npu::{Bytes, NpuDType, NpuTensor};
use std::sync::Arc;

/// A device tensor with its context. Cloning shares the device memory.
#[derive(Debug, Clone)]
pub struct NpuValue {
    tensor: NpuTensor,
    context: Arc<NpuContext>,
}

impl NpuValue {
    pub fn new(tensor: NpuTensor, context: Arc<NpuContext>) -> Self {
        Self { tensor, context }
    }

    pub fn tensor(&self) -> &NpuTensor {
        &self.tensor
    }

    pub fn context(&self) -> &Arc<NpuContext> {
        &self.context
    }

    /// A result of an operation on this value's stream, wrapped in the same context.
    pub(crate) fn wrap(&self, t: ops_npu::Result<NpuTensor>) -> Result<NpuValue> {
        Ok(NpuValue::new(t.map_err(Error::wrap)?, self.context.clone()))
    }

    pub(crate) fn shape(&self) -> &[usize] {
        self.tensor.shape()
    }

    /// candle's name for the element type. The NPU's int32 reads as candle's I32; bool (a
    /// mask) as U8.
    pub fn candle_dtype(&self) -> DType {
        match self.tensor.dtype() {
            NpuDType::F32 => DType::F32,
            NpuDType::F16 => DType::F16,
            NpuDType::BF16 => DType::BF16,
            NpuDType::I64 => DType::I64,
            NpuDType::I32 => DType::I32,
            NpuDType::U8 | NpuDType::Bool => DType::U8,
        }
    }

    /// Uploads a host tensor. Token ids (u32 in candle) travel as int64, the index type
    /// every aclnn gather takes.
    pub fn upload(context: &Arc<NpuContext>, t: &candle_core::Tensor) -> Result<NpuValue> {
        let shape = t.dims().to_vec();
        let flat = t.flatten_all()?.to_device(&candle_core::Device::Cpu)?;
        let s = context.stream();
        let tensor = match t.dtype() {
            DType::F32 => NpuTensor::upload(s, &flat.to_vec1::<f32>()?, &shape),
            DType::F16 => NpuTensor::upload(s, &flat.to_vec1::<half::f16>()?, &shape),
            DType::BF16 => NpuTensor::upload(s, &flat.to_vec1::<half::bf16>()?, &shape),
            DType::I64 => NpuTensor::upload(s, &flat.to_vec1::<i64>()?, &shape),
            DType::U32 => {
                let ids: Vec<i64> = flat.to_vec1::<u32>()?.into_iter().map(i64::from).collect();
                NpuTensor::upload(s, &ids, &shape)
            }
            DType::U8 => NpuTensor::upload(s, &flat.to_vec1::<u8>()?, &shape),
            other => {
                return Err(Error::Msg(format!(
                    "a {other:?} tensor cannot be uploaded to the NPU (f32, f16, bf16, u8, u32 or i64)"
                )));
            }
        }
        .map_err(Error::wrap)?;
        Ok(NpuValue::new(tensor, context.clone()))
    }

    /// Downloads to a CPU candle tensor (synchronises the stream).
    pub fn download(&self) -> Result<candle_core::Tensor> {
        let s = self.context.stream();
        let shape = self.tensor.shape().to_vec();
        let cpu = &candle_core::Device::Cpu;
        fn get<T: Bytes>(t: &NpuTensor, s: &ops_npu::npu::NpuStream) -> Result<Vec<T>> {
            t.download::<T>(s).map_err(Error::wrap)
        }
        let t = &self.tensor;
        match t.dtype() {
            NpuDType::F32 => candle_core::Tensor::from_vec(get::<f32>(t, s)?, shape, cpu),
            NpuDType::F16 => candle_core::Tensor::from_vec(get::<half::f16>(t, s)?, shape, cpu),
            NpuDType::BF16 => candle_core::Tensor::from_vec(get::<half::bf16>(t, s)?, shape, cpu),
            NpuDType::I64 => candle_core::Tensor::from_vec(get::<i64>(t, s)?, shape, cpu),
            NpuDType::I32 => candle_core::Tensor::from_vec(get::<i32>(t, s)?, shape, cpu),
            NpuDType::U8 => candle_core::Tensor::from_vec(get::<u8>(t, s)?, shape, cpu),
            NpuDType::Bool => {
                let v: Vec<u8> = t
                    .download_mask(s)
                    .map_err(Error::wrap)?
                    .into_iter()
                    .map(u8::from)
                    .collect();
                candle_core::Tensor::from_vec(v, shape, cpu)
            }
        }
    }
}
