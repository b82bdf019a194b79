//! What produced an image, as stored in its PNG: once as AUTOMATIC1111's "infotext" (the
//! `parameters` chunk that A1111's PNG Info, Civitai and ComfyUI read) and once as JSON for
//! programs, so every binary writes the same keys in the same way.
//!
//! `a1111`: the infotext and its quoting. `sampler`: A1111's names for our schedulers.

mod a1111;
mod sampler;

pub use sampler::a1111_sampler;

use serde_json::{Map, Value, json};

/// The keyword A1111 reads its infotext from.
pub const PARAMETERS_KEYWORD: &str = "parameters";
/// The keyword of the JSON chunk: a name of our own, so no reader mistakes our schema for
/// ComfyUI's `prompt`/`workflow` JSON.
pub const JSON_KEYWORD: &str = "diffusion-npu-toolkit";
/// Bumped when a key of [`GenerationInfo::to_json`] changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// The settings of one generated image.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationInfo {
    pub prompt: String,
    /// Empty when there was none (A1111 then leaves out its line).
    pub negative_prompt: String,
    pub steps: usize,
    /// A1111's sampler name (see [`a1111_sampler`]).
    pub sampler: String,
    pub cfg_scale: f64,
    /// `None` when the starting noise did not come from a seed (latents were given).
    pub seed: Option<u64>,
    pub width: u32,
    pub height: u32,
    pub model: String,
    /// Further settings, in the order they are written. Keys are A1111-style labels (a
    /// word character, then word characters, spaces, `-` or `/`), which A1111's parser
    /// needs to find them; values are written as JSON in the JSON chunk.
    pub extra: Vec<(&'static str, Value)>,
}

impl GenerationInfo {
    /// Appends an extra setting; a `null` value is left out of both forms.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra.push((key, value.into()));
        self
    }

    /// A1111's infotext: the prompt, a `Negative prompt:` line, then one line of
    /// `Key: value` pairs.
    pub fn to_a1111(&self) -> String {
        a1111::infotext(self)
    }

    /// Every setting under a stable key, for programs.
    pub fn to_json(&self) -> Value {
        let extra: Map<String, Value> = self
            .extra
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        json!({
            "schema_version": SCHEMA_VERSION,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "steps": self.steps,
            "sampler": self.sampler,
            "cfg_scale": self.cfg_scale,
            "seed": self.seed,
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "extra": extra,
        })
    }

    /// The PNG text chunks (keyword, text) that carry it.
    pub fn png_text(&self) -> [(&'static str, String); 2] {
        [
            (PARAMETERS_KEYWORD, self.to_a1111()),
            (JSON_KEYWORD, self.to_json().to_string()),
        ]
    }
}
