//! The transformers of one edit, held one at a time: the editor until the refine stage
//! starts, then the refiner, loaded only after the editor is dropped. At HiDream's size that
//! is the difference between one and two 17 B-parameter models in memory for E1-Full, whose
//! refine stage runs other weights (the I1 weights, or the checkpoint without its adapters).

use super::HiDreamError;
use super::edit::EditTransformers;
use super::transformer::HiDreamTransformer;

/// Loads the refine stage's transformer.
pub type LoadRefiner<'a> = Box<dyn FnOnce() -> Result<HiDreamTransformer, HiDreamError> + 'a>;

/// An [`EditTransformers`] that swaps the editor for a freshly loaded refiner.
pub struct SwapAtRefine<'a> {
    current: Option<HiDreamTransformer>,
    /// `None` once loaded, or from the start when the editor also refines (E1.1).
    load_refiner: Option<LoadRefiner<'a>>,
    refining: bool,
}

impl<'a> SwapAtRefine<'a> {
    /// `load_refiner` runs when the refine stage first asks for its transformer, after the
    /// editor is dropped; `None` keeps the editor for the refine stage too.
    pub fn new(editor: HiDreamTransformer, load_refiner: Option<LoadRefiner<'a>>) -> Self {
        Self {
            current: Some(editor),
            load_refiner,
            refining: false,
        }
    }

    fn current(&self) -> Result<&HiDreamTransformer, HiDreamError> {
        self.current.as_ref().ok_or_else(|| {
            HiDreamError::InvalidInput("the refine transformer failed to load earlier".into())
        })
    }
}

impl EditTransformers for SwapAtRefine<'_> {
    fn editor(&mut self) -> Result<&HiDreamTransformer, HiDreamError> {
        if self.refining {
            return Err(HiDreamError::InvalidInput(
                "the editor was released when the refine stage started".into(),
            ));
        }
        self.current()
    }

    fn refiner(&mut self) -> Result<&HiDreamTransformer, HiDreamError> {
        if !self.refining {
            self.refining = true;
            if let Some(load) = self.load_refiner.take() {
                // Dropped first, so the two never share memory.
                self.current = None;
                self.current = Some(load()?);
            }
        }
        self.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hidream::transformer::TransformerConfig;
    use crate::layers::Kernels;
    use crate::model_tensor::VarBuilder;
    use candle_core::{DType, Device};
    use std::cell::Cell;

    /// A real (tiny, zero-weight) transformer, told apart by its max_seq.
    fn model(max_seq: usize) -> HiDreamTransformer {
        let config: TransformerConfig = serde_json::from_value(serde_json::json!({
            "patch_size": 2, "in_channels": 4, "out_channels": 4,
            "num_layers": 1, "num_single_layers": 1,
            "attention_head_dim": 8, "num_attention_heads": 2,
            "caption_channels": [8, 8], "text_emb_dim": 8,
            "num_routed_experts": 2, "num_activated_experts": 1,
            "axes_dims_rope": [4, 2, 2], "max_resolution": [8, 8],
            "llama_layers": [0, 0],
        }))
        .expect("config");
        let vb = VarBuilder::zeros(DType::F32, &Device::Cpu);
        let mut m = HiDreamTransformer::new(config, vb, Kernels::default()).expect("model");
        m.set_max_seq(max_seq);
        m
    }

    #[test]
    fn the_refiner_loads_once_after_the_editor_is_released() {
        let loads = Cell::new(0);
        let mut swap = SwapAtRefine::new(
            model(1),
            Some(Box::new(|| {
                loads.set(loads.get() + 1);
                Ok(model(2))
            })),
        );
        assert_eq!(swap.editor().expect("editor").config().max_seq(), 1);
        assert_eq!(loads.get(), 0, "nothing loads before the refine stage");
        assert_eq!(swap.refiner().expect("refiner").config().max_seq(), 2);
        assert_eq!(swap.refiner().expect("refiner").config().max_seq(), 2);
        assert_eq!(loads.get(), 1);
        let msg = swap.editor().expect_err("released").to_string();
        assert!(msg.contains("released"), "{msg}");
    }

    #[test]
    fn without_a_refiner_the_editor_refines_and_a_failed_load_is_reported() {
        let mut keep = SwapAtRefine::new(model(3), None);
        assert_eq!(keep.refiner().expect("editor").config().max_seq(), 3);

        let mut failing = SwapAtRefine::new(
            model(1),
            Some(Box::new(|| {
                Err(HiDreamError::InvalidInput("no refine weights".into()))
            })),
        );
        let msg = failing.refiner().expect_err("load fails").to_string();
        assert!(msg.contains("no refine weights"), "{msg}");
        assert!(failing.refiner().is_err());
    }
}
