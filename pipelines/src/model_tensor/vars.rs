//! candle's `VarBuilder`, placing every weight on the model's device: candle reads (and
//! converts) it from the mmapped safetensors on the host side, then it is uploaded once.
//! The `on_weight` hook sees each weight's bytes as it is placed (a load progress bar).

use super::device::ModelDevice;
use super::tensor::Tensor;
use candle_core::{DType, Result, Shape};
use std::sync::Arc;

/// Called with the bytes of each weight placed (a load progress bar).
#[derive(Clone)]
pub struct WeightHook(pub Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for WeightHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeightHook")
    }
}

#[derive(Clone)]
pub struct VarBuilder<'a> {
    inner: candle_nn::VarBuilder<'a>,
    device: ModelDevice,
    on_weight: Option<WeightHook>,
}

impl std::fmt::Debug for VarBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VarBuilder")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl<'a> VarBuilder<'a> {
    /// Weights read by `inner` (on `device.host()`), placed on `device`.
    pub fn new(inner: candle_nn::VarBuilder<'a>, device: ModelDevice) -> Self {
        Self {
            inner,
            device,
            on_weight: None,
        }
    }

    /// Named host tensors (converted to `dtype` when read), placed on `device`.
    pub fn from_tensors(
        tensors: std::collections::HashMap<String, candle_core::Tensor>,
        dtype: DType,
        device: impl Into<ModelDevice>,
    ) -> Self {
        let device = device.into();
        let inner = candle_nn::VarBuilder::from_tensors(tensors, dtype, &device.host());
        Self::new(inner, device)
    }

    /// Every weight zero (shape-only model builds).
    pub fn zeros(dtype: DType, device: impl Into<ModelDevice>) -> Self {
        let device = device.into();
        Self::new(candle_nn::VarBuilder::zeros(dtype, &device.host()), device)
    }

    /// The same weights, reporting each one placed to `hook` (none: as they were).
    pub fn with_hook(mut self, hook: Option<WeightHook>) -> Self {
        self.on_weight = hook;
        self
    }

    pub fn pp<S: ToString>(&self, name: S) -> Self {
        Self {
            inner: self.inner.pp(name),
            device: self.device.clone(),
            on_weight: self.on_weight.clone(),
        }
    }

    pub fn get<S: Into<Shape>>(&self, shape: S, name: &str) -> Result<Tensor> {
        let t = self.inner.get(shape, name)?;
        if let Some(hook) = &self.on_weight {
            (hook.0)((t.elem_count() * t.dtype().size_in_bytes()) as u64);
        }
        self.device.place(&t)
    }

    pub fn contains_tensor(&self, name: &str) -> bool {
        self.inner.contains_tensor(name)
    }

    pub fn dtype(&self) -> DType {
        self.inner.dtype()
    }

    pub fn device(&self) -> &ModelDevice {
        &self.device
    }
}

/// A candle builder used as is: weights stay on its own (candle) device.
impl<'a> From<candle_nn::VarBuilder<'a>> for VarBuilder<'a> {
    fn from(inner: candle_nn::VarBuilder<'a>) -> Self {
        let device = ModelDevice::Candle(inner.device().clone());
        Self::new(inner, device)
    }
}
