//! The SD-specific config files: `unet/config.json` and `model_index.json`. Defaults are
//! diffusers' constructor defaults, so sparse hand-written configs load the same way.

use crate::config::{ConfigError, read_config};
use crate::error::ModelError;
use serde::Deserialize;
use std::path::Path;

/// diffusers accepts either one value for every block or one per block.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PerBlock<T> {
    One(T),
    Each(Vec<T>),
}

impl<T: Clone> PerBlock<T> {
    /// The value for each of `n` blocks; a list of the wrong length is a config error.
    pub fn expand(&self, n: usize, field: &str) -> Result<Vec<T>, ConfigError> {
        match self {
            Self::One(v) => Ok(vec![v.clone(); n]),
            Self::Each(v) if v.len() == n => Ok(v.clone()),
            Self::Each(v) => Err(ConfigError::invalid(format!(
                "{field} has {} entries for {n} blocks",
                v.len()
            ))),
        }
    }
}

fn one<T>(v: T) -> PerBlock<T> {
    PerBlock::One(v)
}

#[derive(Debug, Clone, Deserialize)]
pub struct UNetConfig {
    #[serde(default = "d_sample_size")]
    pub sample_size: usize,
    #[serde(default = "d_four")]
    pub in_channels: usize,
    #[serde(default = "d_four")]
    pub out_channels: usize,
    #[serde(default)]
    pub center_input_sample: bool,
    #[serde(default = "d_true")]
    pub flip_sin_to_cos: bool,
    #[serde(default)]
    pub freq_shift: f64,
    pub down_block_types: Vec<String>,
    #[serde(default = "d_mid_block")]
    pub mid_block_type: Option<String>,
    pub up_block_types: Vec<String>,
    #[serde(default = "d_false_per_block")]
    pub only_cross_attention: PerBlock<bool>,
    pub block_out_channels: Vec<usize>,
    #[serde(default = "d_layers")]
    pub layers_per_block: PerBlock<usize>,
    #[serde(default = "d_one_usize")]
    pub downsample_padding: usize,
    #[serde(default = "d_one_f64")]
    pub mid_block_scale_factor: f64,
    #[serde(default = "d_silu")]
    pub act_fn: String,
    #[serde(default = "d_groups")]
    pub norm_num_groups: usize,
    #[serde(default = "d_norm_eps")]
    pub norm_eps: f64,
    #[serde(default = "d_cross_dim")]
    pub cross_attention_dim: PerBlock<usize>,
    #[serde(default = "d_one_per_block")]
    pub transformer_layers_per_block: PerBlock<usize>,
    #[serde(default = "d_head_dim")]
    pub attention_head_dim: PerBlock<usize>,
    #[serde(default)]
    pub num_attention_heads: Option<PerBlock<usize>>,
    #[serde(default)]
    pub dual_cross_attention: bool,
    #[serde(default)]
    pub use_linear_projection: bool,
    #[serde(default)]
    pub class_embed_type: Option<String>,
    #[serde(default)]
    pub num_class_embeds: Option<usize>,
    #[serde(default)]
    pub addition_embed_type: Option<String>,
    #[serde(default)]
    pub upcast_attention: bool,
    #[serde(default = "d_time_shift")]
    pub resnet_time_scale_shift: String,
    #[serde(default = "d_positional")]
    pub time_embedding_type: String,
    #[serde(default)]
    pub time_embedding_dim: Option<usize>,
    #[serde(default)]
    pub time_cond_proj_dim: Option<usize>,
    #[serde(default)]
    pub encoder_hid_dim: Option<usize>,
    #[serde(default = "d_three")]
    pub conv_in_kernel: usize,
    #[serde(default = "d_three")]
    pub conv_out_kernel: usize,
}

impl UNetConfig {
    /// Rejects the diffusers features this UNet does not implement, instead of silently
    /// computing something else.
    pub fn check_supported(&self) -> Result<(), ConfigError> {
        let unsupported = [
            ("class_embed_type", self.class_embed_type.is_some()),
            ("num_class_embeds", self.num_class_embeds.is_some()),
            ("addition_embed_type", self.addition_embed_type.is_some()),
            ("time_cond_proj_dim", self.time_cond_proj_dim.is_some()),
            ("encoder_hid_dim", self.encoder_hid_dim.is_some()),
            ("time_embedding_dim", self.time_embedding_dim.is_some()),
            ("dual_cross_attention", self.dual_cross_attention),
            ("center_input_sample", self.center_input_sample),
            (
                "resnet_time_scale_shift != \"default\"",
                self.resnet_time_scale_shift != "default",
            ),
            (
                "time_embedding_type != \"positional\"",
                self.time_embedding_type != "positional",
            ),
            ("act_fn != \"silu\"", self.act_fn != "silu"),
            ("conv_in_kernel != 3", self.conv_in_kernel != 3),
            ("conv_out_kernel != 3", self.conv_out_kernel != 3),
        ];
        if let Some((feature, _)) = unsupported.iter().find(|(_, bad)| *bad) {
            return Err(ConfigError::UnsupportedFeature {
                model: "UNet",
                feature,
            });
        }
        if self.down_block_types.len() != self.block_out_channels.len()
            || self.up_block_types.len() != self.block_out_channels.len()
        {
            return Err(ConfigError::invalid(format!(
                "UNet config has {} down and {} up block types for {} block_out_channels",
                self.down_block_types.len(),
                self.up_block_types.len(),
                self.block_out_channels.len()
            )));
        }
        if self.block_out_channels.is_empty() || self.norm_num_groups == 0 {
            return Err(ConfigError::invalid(
                "UNet config needs block_out_channels and a positive norm_num_groups",
            ));
        }
        match self.mid_block_type.as_deref() {
            Some("UNetMidBlock2DCrossAttn") => Ok(()),
            other => Err(ConfigError::unsupported(format!(
                "UNet mid_block_type {other:?}"
            ))),
        }
    }
}

/// `model_index.json`: the pipeline class and which component folders it uses.
#[derive(Debug, Clone)]
pub struct ModelIndex {
    pub class_name: String,
    /// (folder, library, class) for every component that is not null.
    pub components: Vec<(String, String, String)>,
}

impl ModelIndex {
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let value: serde_json::Value = read_config(path)?;
        let err = |message: &str| ModelError::Config {
            path: path.to_path_buf(),
            message: message.to_string(),
        };
        let map = value.as_object().ok_or_else(|| err("not a JSON object"))?;
        let class_name = map
            .get("_class_name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| err("no _class_name"))?
            .to_string();
        let components = map
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .filter_map(|(k, v)| {
                let pair = v.as_array()?;
                let lib = pair.first()?.as_str()?;
                let class = pair.get(1)?.as_str()?;
                Some((k.clone(), lib.to_string(), class.to_string()))
            })
            .collect();
        Ok(Self {
            class_name,
            components,
        })
    }

    pub fn class_of(&self, component: &str) -> Option<&str> {
        self.components
            .iter()
            .find(|(name, _, _)| name == component)
            .map(|(_, _, class)| class.as_str())
    }
}

fn d_sample_size() -> usize {
    64
}
fn d_four() -> usize {
    4
}
fn d_three() -> usize {
    3
}
fn d_true() -> bool {
    true
}
fn d_mid_block() -> Option<String> {
    Some("UNetMidBlock2DCrossAttn".into())
}
fn d_false_per_block() -> PerBlock<bool> {
    one(false)
}
fn d_layers() -> PerBlock<usize> {
    one(2)
}
fn d_one_usize() -> usize {
    1
}
fn d_one_f64() -> f64 {
    1.0
}
fn d_silu() -> String {
    "silu".into()
}
fn d_groups() -> usize {
    32
}
fn d_norm_eps() -> f64 {
    1e-5
}
fn d_cross_dim() -> PerBlock<usize> {
    one(1280)
}
fn d_one_per_block() -> PerBlock<usize> {
    one(1)
}
fn d_head_dim() -> PerBlock<usize> {
    one(8)
}
fn d_time_shift() -> String {
    "default".into()
}
fn d_positional() -> String {
    "positional".into()
}
