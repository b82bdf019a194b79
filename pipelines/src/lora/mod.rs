//! LoRA adapters for Stable Diffusion, merged into the UNet and text encoder weights as
//! they load. kohya-ss / A1111 files (`lora_unet_*`, `lora_te_*`, per-module `.alpha`) and
//! diffusers / PEFT files (`unet.*.lora_A.weight`, alpha from the adapter config diffusers
//! stores in the file) are both read; several files may be stacked, each with a weight.
//! Linear and convolution weights are adapted; DoRA and LyCORIS extensions are refused
//! with the key that uses them.
//!
//! - `names`: what a key names (model, module, adapter part).
//! - `file`: one file read into adapters with their scales; `--lora FILE[:WEIGHT]`.
//! - `merge`: a component's VarBuilder with the updates added.

mod file;
mod merge;
mod names;

pub use file::{Adapter, LoraFile, LoraSpec};
pub use merge::component_vars;
pub use names::Target;
