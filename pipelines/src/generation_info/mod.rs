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
        let mut pairs: Vec<(&str, String)> = vec![
            ("Steps", self.steps.to_string()),
            ("Sampler", self.sampler.clone()),
            // As Python prints a float (7.0, not 7), which is what A1111 writes.
            ("CFG scale", Value::from(self.cfg_scale).to_string()),
        ];
        if let Some(seed) = self.seed {
            pairs.push(("Seed", seed.to_string()));
        }
        pairs.push(("Size", format!("{}x{}", self.width, self.height)));
        pairs.push(("Model", self.model.clone()));
        for (key, value) in &self.extra {
            if let Some(value) = plain(value) {
                pairs.push((key, value));
            }
        }
        a1111::infotext(&self.prompt, &self.negative_prompt, &pairs)
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

/// A JSON value as infotext shows it: strings bare, `null` left out.
fn plain(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> GenerationInfo {
        GenerationInfo {
            prompt: "a cat".into(),
            negative_prompt: String::new(),
            steps: 25,
            sampler: "DPM++ 2M".into(),
            cfg_scale: 7.5,
            seed: Some(42),
            width: 512,
            height: 768,
            model: "sd21".into(),
            extra: Vec::new(),
        }
    }

    #[test]
    fn infotext_has_a1111_fields_first_then_the_extras_in_order() {
        let mut i = info();
        i.negative_prompt = "blurry".into();
        let i = i
            .with("Strength", 0.5)
            .with("Flag", true)
            .with("Dtype", "f16");
        assert_eq!(
            i.to_a1111(),
            "a cat\nNegative prompt: blurry\nSteps: 25, Sampler: DPM++ 2M, CFG scale: 7.5, \
             Seed: 42, Size: 512x768, Model: sd21, Strength: 0.5, Flag: true, Dtype: f16"
        );
    }

    #[test]
    fn no_seed_without_one_and_null_extras_left_out() {
        let mut i = info();
        i.seed = None;
        let i = i.with("Latents", "given").with("Unset", Value::Null);
        assert_eq!(
            i.to_a1111(),
            "a cat\nSteps: 25, Sampler: DPM++ 2M, CFG scale: 7.5, Size: 512x768, Model: sd21, \
             Latents: given"
        );
        assert_eq!(i.to_json()["seed"], Value::Null);
        let mut whole = info();
        whole.cfg_scale = 7.0;
        assert!(whole.to_a1111().contains(", CFG scale: 7.0, "));
        assert_eq!(i.to_json()["extra"], json!({"Latents": "given"}));
    }

    #[test]
    fn json_holds_every_field_and_the_extras() {
        let v = info().with("Shift", 3.0).to_json();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["prompt"], "a cat");
        assert_eq!(v["negative_prompt"], "");
        assert_eq!(v["steps"], 25);
        assert_eq!(v["sampler"], "DPM++ 2M");
        assert_eq!(v["cfg_scale"], 7.5);
        assert_eq!(v["seed"], 42);
        assert_eq!((&v["width"], &v["height"]), (&json!(512), &json!(768)));
        assert_eq!(v["model"], "sd21");
        assert_eq!(v["extra"], json!({"Shift": 3.0}));
    }
}
