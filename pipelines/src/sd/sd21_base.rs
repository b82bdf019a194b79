//! The published SD 2.1-base UNet config, built in so `sd-bench` measures the real
//! architecture with no download.

use super::config::UNetConfig;

/// `unet/config.json` of stabilityai/stable-diffusion-2-1-base (diffusers 0.42 keys; the
/// ones this UNet does not read are left out).
pub const SD21_BASE_UNET_CONFIG: &str = r#"{
  "sample_size": 64, "in_channels": 4, "out_channels": 4, "center_input_sample": false,
  "flip_sin_to_cos": true, "freq_shift": 0,
  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  "mid_block_type": "UNetMidBlock2DCrossAttn",
  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
  "only_cross_attention": false, "block_out_channels": [320, 640, 1280, 1280],
  "layers_per_block": 2, "downsample_padding": 1, "mid_block_scale_factor": 1,
  "act_fn": "silu", "norm_num_groups": 32, "norm_eps": 1e-05, "cross_attention_dim": 1024,
  "transformer_layers_per_block": 1, "attention_head_dim": [5, 10, 20, 20],
  "num_attention_heads": null, "dual_cross_attention": false, "use_linear_projection": true,
  "class_embed_type": null, "addition_embed_type": null, "num_class_embeds": null,
  "upcast_attention": false, "resnet_time_scale_shift": "default",
  "time_embedding_type": "positional", "time_embedding_dim": null, "time_cond_proj_dim": null,
  "encoder_hid_dim": null, "conv_in_kernel": 3, "conv_out_kernel": 3
}"#;

pub fn sd21_base_unet_config() -> serde_json::Result<UNetConfig> {
    serde_json::from_str(SD21_BASE_UNET_CONFIG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_config_is_the_published_one() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sd2/real_model_params.json");
        let all: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture"))
                .expect("json");
        let ours: serde_json::Value = serde_json::from_str(SD21_BASE_UNET_CONFIG).expect("json");
        // Every key we pin has diffusers' value for the real model.
        for (key, value) in ours.as_object().expect("object") {
            assert_eq!(&all["unet"]["config"][key], value, "{key}");
        }
        let c = sd21_base_unet_config().expect("parses");
        assert_eq!(c.block_out_channels, [320, 640, 1280, 1280]);
    }
}
