//! Classifier-free guidance on two workers: the unconditional half of each step's UNet
//! batch on one device and the conditional half on the other, at the same time (the
//! Ascend ModelZoo SD2.1 layout for two chips). Both workers get the same latents and each
//! keeps its own acceleration state, seeded identically, so token merging draws the same
//! destinations in both, as the single batch-2 call does.
//!
//! Exactness: the result is bit-identical to the sequential pipeline because (checked by
//! tests/sd_accel.rs) a batch-2 UNet call on candle's CPU kernels equals two batch-1
//! calls bit for bit, and each worker runs the same kernels on its own half.
//!
//! Threads: each worker runs inside its own rayon pool of half the compute threads
//! (`RAYON_NUM_THREADS` or the core count, as candle counts them; at least one each), so
//! the two never oversubscribe the machine: on a 2-core host, one thread per worker.

use super::hooks::StepHooks;
use crate::model_tensor::{ModelDevice, Tensor};
use crate::sd::unet::UNet2DConditionModel;
use candle_core::Result;

#[derive(Debug)]
pub struct CfgParallel {
    /// The UNet on the second device (on a CPU host, a clone sharing the weights).
    second: UNet2DConditionModel,
    second_device: ModelDevice,
    pools: [rayon::ThreadPool; 2],
    threads_each: usize,
}

impl CfgParallel {
    /// `second` must be the same UNet loaded on `second_device`.
    pub fn new(second: UNet2DConditionModel, second_device: ModelDevice) -> Result<Self> {
        let threads_each = (candle_core::utils::get_num_threads() / 2).max(1);
        let pool = |i: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads_each)
                .thread_name(move |t| format!("cfg-worker{i}-{t}"))
                .build()
                .map_err(|e| candle_core::Error::msg(format!("CFG-parallel worker pool: {e}")))
        };
        Ok(Self {
            second,
            second_device,
            pools: [pool(0)?, pool(1)?],
            threads_each,
        })
    }

    /// Two CPU workers standing in for two chips; the weights are shared, not copied.
    pub fn on_cpu(unet: &UNet2DConditionModel) -> Result<Self> {
        Self::new(unet.clone(), ModelDevice::Candle(candle_core::Device::Cpu))
    }

    /// Compute threads each worker may use.
    pub fn threads_per_worker(&self) -> usize {
        self.threads_each
    }

    /// Noise predictions for the uncond half (`first`, on `home`) and the cond half (on the
    /// second device), as host tensors on `home`'s host side. `input` is the host-side UNet
    /// input; each worker makes its device current, places the input there and runs its
    /// half. The cond half's text context crosses to the second device through the host
    /// each step (one extra synchronisation on an NPU).
    pub fn run(
        &self,
        (first, home): (&UNet2DConditionModel, &ModelDevice),
        (input, t): (&candle_core::Tensor, f64),
        (uncond, cond): (&Tensor, &Tensor),
        hooks: &mut [StepHooks; 2],
    ) -> Result<(candle_core::Tensor, candle_core::Tensor)> {
        let host = home.host();
        let [hooks0, hooks1] = hooks;
        let cond_host = cond.to_host()?;
        let lane = |unet: &UNet2DConditionModel,
                    device: &ModelDevice,
                    context: &dyn Fn() -> Result<Tensor>,
                    hooks: &mut StepHooks| {
            device.bind_current_thread()?;
            let prediction = unet.forward_with(&device.place(input)?, t, &context()?, hooks)?;
            prediction.into_host()?.to_device(&host)
        };
        let (a, b) = std::thread::scope(|s| {
            let worker = s.spawn(|| {
                self.pools[1].install(|| {
                    let context = || self.second_device.place(&cond_host);
                    lane(&self.second, &self.second_device, &context, hooks1)
                })
            });
            let a = self.pools[0].install(|| {
                let context = || Ok(uncond.clone());
                lane(first, home, &context, hooks0)
            });
            let b = worker
                .join()
                .unwrap_or_else(|_| Err(candle_core::Error::msg("CFG-parallel worker panicked")));
            (a, b)
        });
        Ok((a?, b?))
    }
}
