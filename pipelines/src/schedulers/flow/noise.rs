//! Where the flash scheduler's per-step noise comes from. The reference draws it from
//! torch's global generator; parity fixtures instead hand over recorded tensors, so the
//! source is a trait the caller chooses.

use candle_core::{Device, Result, Shape, Tensor};
use device::TorchRng;
use std::collections::VecDeque;

/// A supplier of standard-normal float32 tensors, one call per draw the reference makes.
pub trait NoiseSource {
    fn randn(&mut self, shape: &Shape, device: &Device) -> Result<Tensor>;
}

/// `torch.randn(shape)` on a CPU generator: the same values, in the same order.
impl NoiseSource for TorchRng {
    fn randn(&mut self, shape: &Shape, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(self.randn_shape(shape.dims()), shape, device)
    }
}

/// Noise recorded elsewhere (e.g. by a reference run on a GPU generator), handed out in
/// order. Running out, or a tensor of the wrong shape, is an error rather than a silent
/// fallback to other noise.
#[derive(Debug, Default)]
pub struct QueuedNoise {
    queue: VecDeque<Tensor>,
}

impl QueuedNoise {
    pub fn new(tensors: impl IntoIterator<Item = Tensor>) -> Self {
        Self {
            queue: tensors.into_iter().collect(),
        }
    }

    pub fn remaining(&self) -> usize {
        self.queue.len()
    }
}

impl NoiseSource for QueuedNoise {
    fn randn(&mut self, shape: &Shape, device: &Device) -> Result<Tensor> {
        let next = self.queue.pop_front().ok_or_else(|| {
            candle_core::Error::msg(
                "the injected noise ran out: the scheduler asked for more draws than were supplied",
            )
        })?;
        if next.shape() != shape {
            candle_core::bail!(
                "injected noise has shape {:?} but the scheduler needs {:?}",
                next.dims(),
                shape.dims()
            );
        }
        next.to_dtype(candle_core::DType::F32)?.to_device(device)
    }
}
