//! What one UNet step costs on an NPU, from the runtime's own figures: aclnn launches,
//! host synchronisations, bytes copied each way, and the caching allocator's high-water
//! against its lower bound (the weights plus the largest set of tensors alive at once,
//! i.e. the pool's peak of allocated bytes). None of these depend on the values computed,
//! so they can be taken on the test double (with `FAKE_ASCEND_SKIP_MATH=1` for the full
//! model); timing cannot, and is not part of this.

use super::accel::StepHooks;
use super::unet::UNet2DConditionModel;
use crate::model_tensor::{ModelDevice, Tensor as ModelTensor};
use candle_core::{Error, Result, Tensor};
use ops_npu::npu::PoolStats;
use serde::Serialize;

/// One step's figures (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NpuStepFigures {
    pub launches: u64,
    pub synchronisations: u64,
    pub upload_bytes: u64,
    pub download_bytes: u64,
    /// Device bytes allocated before the step: the weights and the text context.
    pub resident_bytes: u64,
    /// The pool's peak of allocated bytes during the step: resident bytes plus the largest
    /// set of activations and workspaces alive at once. The lower bound of any allocator.
    pub peak_allocated_bytes: u64,
    /// The pool's peak of bytes held from the runtime (allocated plus cached): the
    /// device memory high-water.
    pub peak_reserved_bytes: u64,
}

impl NpuStepFigures {
    /// High-water over its lower bound (1.0 = no memory held beyond what was alive).
    pub fn high_water_ratio(&self) -> f64 {
        self.peak_reserved_bytes as f64 / self.peak_allocated_bytes.max(1) as f64
    }
}

/// Runs one UNet step as the pipeline does (host `sample` placed on the device, the
/// prediction downloaded) and returns its figures.
pub fn measure_unet_step(
    unet: &UNet2DConditionModel,
    (sample, timestep): (&Tensor, f64),
    context: &ModelTensor,
    hooks: &mut StepHooks,
) -> Result<NpuStepFigures> {
    let ModelDevice::Npu(npu) = context.device() else {
        return Err(Error::Msg(
            "NPU step figures need the model on an NPU".into(),
        ));
    };
    let stream = npu.stream();
    // Queued work from before (loading) is not this step's.
    stream.synchronize().map_err(Error::wrap)?;
    PoolStats::reset_peaks();
    let resident = PoolStats::now().allocated;
    let (launches, syncs, (up, down)) = (
        stream.launches(),
        stream.synchronizations(),
        stream.transferred_bytes(),
    );
    let device = ModelDevice::Npu(npu.clone());
    let prediction = unet
        .forward_with(&device.place(sample)?, timestep, context, hooks)?
        .into_host()?;
    drop(prediction);
    let (up2, down2) = stream.transferred_bytes();
    let pool = PoolStats::now();
    Ok(NpuStepFigures {
        launches: stream.launches() - launches,
        synchronisations: stream.synchronizations() - syncs,
        upload_bytes: up2 - up,
        download_bytes: down2 - down,
        resident_bytes: resident,
        peak_allocated_bytes: pool.peak_allocated,
        peak_reserved_bytes: pool.peak_reserved,
    })
}
