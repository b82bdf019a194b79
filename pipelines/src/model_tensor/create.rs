//! Constructors and concatenation. New tensors are made on the host and placed on the
//! device (one upload for an NPU); readbacks download. Constructors take the device by
//! value or reference, a model device or a candle one.

use super::device::ModelDevice;
use super::errors::mixed_devices_error;
use super::tensor::Tensor;
use candle_core::shape::Dim;
use candle_core::{DType, Error, NdArray, Result, Shape, WithDType};
use ops_npu::npu::ops;

impl Tensor {
    pub fn from_vec<S: Into<Shape>, T: WithDType>(
        data: Vec<T>,
        shape: S,
        device: impl Into<ModelDevice>,
    ) -> Result<Tensor> {
        let device = device.into();
        device.place(&candle_core::Tensor::from_vec(data, shape, &device.host())?)
    }

    pub fn new<A: NdArray>(array: A, device: impl Into<ModelDevice>) -> Result<Tensor> {
        let device = device.into();
        device.place(&candle_core::Tensor::new(array, &device.host())?)
    }

    pub fn zeros<S: Into<Shape>>(
        shape: S,
        dtype: DType,
        device: impl Into<ModelDevice>,
    ) -> Result<Tensor> {
        let device = device.into();
        device.place(&candle_core::Tensor::zeros(shape, dtype, &device.host())?)
    }

    pub fn ones<S: Into<Shape>>(
        shape: S,
        dtype: DType,
        device: impl Into<ModelDevice>,
    ) -> Result<Tensor> {
        let device = device.into();
        device.place(&candle_core::Tensor::ones(shape, dtype, &device.host())?)
    }

    pub fn full<S: Into<Shape>, T: WithDType>(
        value: T,
        shape: S,
        device: impl Into<ModelDevice>,
    ) -> Result<Tensor> {
        let device = device.into();
        device.place(&candle_core::Tensor::full(value, shape, &device.host())?)
    }

    pub fn arange<T: WithDType>(
        start: T,
        end: T,
        device: impl Into<ModelDevice>,
    ) -> Result<Tensor> {
        let device = device.into();
        device.place(&candle_core::Tensor::arange(start, end, &device.host())?)
    }

    /// Normal samples from candle's generator (tests; the pipelines draw noise with
    /// torch's generator on the host).
    pub fn randn<S: Into<Shape>>(
        mean: f32,
        std: f32,
        shape: S,
        device: impl Into<ModelDevice>,
    ) -> Result<Tensor> {
        let device = device.into();
        device.place(&candle_core::Tensor::randn(
            mean,
            std,
            shape,
            &device.host(),
        )?)
    }

    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::zeros(self.dims(), self.dtype(), self.device())
    }

    /// Tensors joined along `dim`; all on one device.
    pub fn cat<A: AsRef<Tensor>, D: Dim>(parts: &[A], dim: D) -> Result<Tensor> {
        let Some(first) = parts.first().map(AsRef::as_ref) else {
            return Err(Error::Msg("cat: no tensors".into()));
        };
        let d = dim.to_index(&first.shape(), "cat")?;
        match first {
            Tensor::Candle(_) => {
                let candles = parts
                    .iter()
                    .map(|p| match p.as_ref() {
                        Tensor::Candle(t) => Ok(t),
                        other => Err(mixed_devices_error("cat", &first.device(), &other.device())),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Tensor::Candle(candle_core::Tensor::cat(&candles, d)?))
            }
            Tensor::Npu(head) => {
                let devices = parts
                    .iter()
                    .map(|p| match p.as_ref() {
                        Tensor::Npu(v) if std::sync::Arc::ptr_eq(v.context(), head.context()) => {
                            Ok(v.tensor())
                        }
                        other => Err(mixed_devices_error("cat", &first.device(), &other.device())),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Tensor::Npu(head.wrap(ops::cat(
                    head.context().stream(),
                    &devices,
                    d as isize,
                ))?))
            }
        }
    }

    /// Tensors of one shape stacked along a new dimension `dim`.
    pub fn stack<A: AsRef<Tensor>, D: Dim>(parts: &[A], dim: D) -> Result<Tensor> {
        let Some(first) = parts.first().map(AsRef::as_ref) else {
            return Err(Error::Msg("stack: no tensors".into()));
        };
        let d = dim.to_index_plus_one(&first.shape(), "stack")?;
        let expanded = parts
            .iter()
            .map(|p| p.as_ref().unsqueeze(d))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&expanded, d)
    }

    pub fn to_vec1<T: WithDType>(&self) -> Result<Vec<T>> {
        self.to_host()?.to_vec1()
    }

    pub fn to_vec2<T: WithDType>(&self) -> Result<Vec<Vec<T>>> {
        self.to_host()?.to_vec2()
    }

    pub fn to_scalar<T: WithDType>(&self) -> Result<T> {
        self.to_host()?.to_scalar()
    }
}
