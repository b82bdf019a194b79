//! DeepCache for the SD UNet with the semantics of DeepCache 0.1.1's `DeepCacheSDHelper`
//! (uniform mode), the form diffusers documents.
//!
//! The helper wraps every down/up block, their resnets, attentions and resamplers, and the
//! mid block. On a full step (`(step - first_step) % interval == 0`, steps counted as the
//! position of the timestep in the scheduler's list) everything runs. On the other steps a
//! wrapped module whose position is past the branch point returns what it returned on the
//! last full step, and everything before it runs again. Branch id `b` is block `b / 3`,
//! layer `b % 3`; down modules are numbered as listed, up modules mirrored (up block `i`
//! of `n` is block `n - 1 - i`, its layer `j` of `m` is layer `m - 1 - j`, its upsampler
//! layer 0), and whole blocks are layer 0. So branch 0 reruns only `conv_in`, the last
//! up block's last resnet and attention, and the output head, on top of the cached
//! output of the layer before them.

use super::error::AccelError;
use crate::model_tensor::Tensor;
use candle_core::Result;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeepCacheOptions {
    /// Full UNet every `interval` steps (1: every step, i.e. no caching).
    pub interval: usize,
    /// Where the shallow branch rejoins the cached deep feature (0: shallowest).
    pub branch: usize,
}

impl DeepCacheOptions {
    pub fn new(interval: usize, branch: usize) -> std::result::Result<Self, AccelError> {
        if interval == 0 {
            return Err(AccelError::DeepCacheInterval);
        }
        Ok(Self { interval, branch })
    }

    /// `INTERVAL[:BRANCH]`, as the `--deepcache` flag takes it.
    pub fn parse(text: &str) -> std::result::Result<Self, AccelError> {
        let (interval, branch) = match text.split_once(':') {
            Some((i, b)) => (i, Some(b)),
            None => (text, None),
        };
        let number = |s: &str, what: &'static str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| AccelError::NotANumber {
                    what,
                    text: s.to_string(),
                })
        };
        let interval = number(interval, "DeepCache interval")?;
        let branch = match branch {
            Some(b) => number(b, "DeepCache branch")?,
            None => 0,
        };
        Self::new(interval, branch)
    }

    /// Branch ids that name a layer of `unet`: block `b / 3` must exist and layer `b % 3`
    /// must be one of its up block's layers.
    pub fn check_branch(
        &self,
        unet: &crate::sd::config::UNetConfig,
    ) -> std::result::Result<(), AccelError> {
        let blocks = unet.block_out_channels.len();
        let layers = unet.layers_per_block.expand(blocks, "layers_per_block")?;
        match layers.get(self.block()) {
            Some(&n) if self.layer() <= n => Ok(()),
            _ => Err(AccelError::NoSuchBranch {
                branch: self.branch,
                blocks,
            }),
        }
    }

    fn block(&self) -> usize {
        self.branch / 3
    }

    fn layer(&self) -> usize {
        self.branch % 3
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    Down,
    Mid,
    Up,
}

/// A wrapped module: its part of the UNet, DeepCache's block and layer numbers, and
/// whether it is a whole block (whose cached value holds several tensors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Site {
    pub part: Part,
    pub block: usize,
    pub layer: usize,
    pub whole_block: bool,
    /// Resnet, attention and resampler of the same layer number are distinct modules.
    pub module: u8,
}

impl Site {
    pub fn block(part: Part, block: usize) -> Self {
        Self {
            part,
            block,
            layer: 0,
            whole_block: true,
            module: 0,
        }
    }

    pub fn resnet(part: Part, block: usize, layer: usize) -> Self {
        Self::inner(part, block, layer, 1)
    }

    pub fn attention(part: Part, block: usize, layer: usize) -> Self {
        Self::inner(part, block, layer, 2)
    }

    pub fn sampler(part: Part, block: usize, layer: usize) -> Self {
        Self::inner(part, block, layer, 3)
    }

    fn inner(part: Part, block: usize, layer: usize, module: u8) -> Self {
        Self {
            part,
            block,
            layer,
            whole_block: false,
            module,
        }
    }
}

/// One generation's cache: the features saved on the last full step.
#[derive(Debug, Clone)]
pub struct DeepCacheRun {
    options: DeepCacheOptions,
    first_step: Option<usize>,
    shallow: bool,
    cache: HashMap<Site, Vec<Tensor>>,
}

impl DeepCacheRun {
    pub fn new(options: DeepCacheOptions) -> Self {
        Self {
            options,
            first_step: None,
            shallow: false,
            cache: HashMap::new(),
        }
    }

    /// Before each UNet call: `step` is the timestep's first position in the scheduler's
    /// list (what the reference computes with `list(timesteps).index(t)`).
    pub fn begin_step(&mut self, step: usize) {
        let first = *self.first_step.get_or_insert(step);
        self.shallow = !step
            .saturating_sub(first)
            .is_multiple_of(self.options.interval);
    }

    /// Whether this call runs only the shallow branch.
    pub fn is_shallow_step(&self) -> bool {
        self.shallow
    }

    /// The reference's `is_skip_step` without its step test: is `site` past the branch?
    fn past_branch(&self, site: Site) -> bool {
        let (block, layer) = (self.options.block(), self.options.layer());
        if site.part == Part::Mid || site.block > block {
            return true;
        }
        if site.block < block {
            return false;
        }
        match site.part {
            Part::Down => site.layer >= layer,
            _ => site.layer > layer,
        }
    }

    /// Only values a shallow step will read are kept: a module past the branch whose
    /// enclosing block is not itself replaced whole.
    fn read_on_shallow_steps(&self, site: Site) -> bool {
        self.past_branch(site)
            && (site.whole_block || !self.past_branch(Site::block(site.part, site.block)))
    }

    /// On a shallow step, the saved value of `site` if it is past the branch.
    pub(crate) fn reuse(&self, site: Site) -> Result<Option<Vec<Tensor>>> {
        if !self.shallow || !self.past_branch(site) {
            return Ok(None);
        }
        match self.cache.get(&site) {
            Some(v) => Ok(Some(v.clone())),
            None => candle_core::bail!("DeepCache: no feature saved for {site:?}"),
        }
    }

    /// On a full step, saves what a shallow step will reuse.
    pub(crate) fn save(&mut self, site: Site, value: &[Tensor]) {
        if !self.shallow && self.read_on_shallow_steps(site) {
            self.cache.insert(site, value.to_vec());
        }
    }
}
