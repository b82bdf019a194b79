//! diffusers weight names to where the original (LDM) layout keeps them. The models ask for
//! diffusers names; each is found in the checkpoint by these rules, written from the LDM
//! layout of Stability's stable-diffusion repository (checked by the fixture round trip
//! through diffusers' `from_single_file`).

/// Where a diffusers weight sits in the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The tensor under this key, as it is.
    Whole(String),
    /// Part `index` of 3 along the first dimension (OpenCLIP's fused q/k/v `in_proj`).
    Third { key: String, index: usize },
    /// A 1x1 convolution `[out, in, 1, 1]` read as the linear `[out, in]` (the VAE's
    /// attention in LDM).
    Squeezed(String),
}

pub const UNET: &str = "model.diffusion_model.";
pub const VAE: &str = "first_stage_model.";
pub const OPEN_CLIP: &str = "cond_stage_model.model.";
/// SD 1.x keeps transformers' CLIP names under this prefix.
pub const HF_CLIP: &str = "cond_stage_model.transformer.";

/// The UNet's block layout, as the LDM numbering needs it.
pub struct UnetLayout {
    /// Layers (ResNets) per down block.
    pub layers: Vec<usize>,
    /// Whether each up block has attentions (then its upsampler sits at index 2, not 1).
    pub up_has_attention: Vec<bool>,
}

fn replace_prefix(name: &str, table: &[(&str, &str)]) -> Option<String> {
    table.iter().find_map(|(old, new)| {
        name.strip_prefix(old)
            .filter(|rest| rest.starts_with('.'))
            .map(|rest| format!("{new}{rest}"))
    })
}

const UNET_RESNET: [(&str, &str); 6] = [
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("time_emb_proj", "emb_layers.1"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("conv_shortcut", "skip_connection"),
];

fn unet_resnet(rest: &str) -> String {
    replace_prefix(rest, &UNET_RESNET).unwrap_or_else(|| rest.to_string())
}

pub fn unet(name: &str, layout: &UnetLayout) -> Option<Source> {
    let fixed = [
        ("time_embedding.linear_1", "time_embed.0"),
        ("time_embedding.linear_2", "time_embed.2"),
        ("conv_in", "input_blocks.0.0"),
        ("conv_norm_out", "out.0"),
        ("conv_out", "out.2"),
    ];
    let key = match replace_prefix(name, &fixed) {
        Some(key) => key,
        None => unet_block(name, layout)?,
    };
    Some(Source::Whole(format!("{UNET}{key}")))
}

fn unet_block(name: &str, layout: &UnetLayout) -> Option<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let number = |i: usize| parts.get(i)?.parse::<usize>().ok();
    let rest = |from: usize| parts.get(from..).map(|p| p.join("."));
    match *parts.first()? {
        "down_blocks" => {
            let block = number(1)?;
            // input_blocks.0 is conv_in; each down block then takes its layers and a
            // downsampler.
            let start = 1 + layout
                .layers
                .get(..block)?
                .iter()
                .map(|l| l + 1)
                .sum::<usize>();
            match *parts.get(2)? {
                "downsamplers" => Some(format!(
                    "input_blocks.{}.0.op.{}",
                    start + layout.layers.get(block)?,
                    rest(5)?
                )),
                "resnets" => Some(format!(
                    "input_blocks.{}.0.{}",
                    start + number(3)?,
                    unet_resnet(&rest(4)?)
                )),
                "attentions" => Some(format!(
                    "input_blocks.{}.1.{}",
                    start + number(3)?,
                    rest(4)?
                )),
                _ => None,
            }
        }
        "mid_block" => match *parts.get(1)? {
            "attentions" => Some(format!("middle_block.1.{}", rest(3)?)),
            "resnets" => Some(format!(
                "middle_block.{}.{}",
                2 * number(2)?,
                unet_resnet(&rest(3)?)
            )),
            _ => None,
        },
        "up_blocks" => {
            let block = number(1)?;
            // Up blocks mirror the down blocks, each with one layer more.
            let mirrored: Vec<usize> = layout.layers.iter().rev().map(|l| l + 1).collect();
            let start: usize = mirrored.get(..block)?.iter().sum();
            match *parts.get(2)? {
                "upsamplers" => {
                    let slot = if *layout.up_has_attention.get(block)? {
                        2
                    } else {
                        1
                    };
                    Some(format!(
                        "output_blocks.{}.{slot}.{}",
                        start + mirrored.get(block)? - 1,
                        rest(4)?
                    ))
                }
                "resnets" => Some(format!(
                    "output_blocks.{}.0.{}",
                    start + number(3)?,
                    unet_resnet(&rest(4)?)
                )),
                "attentions" => Some(format!(
                    "output_blocks.{}.1.{}",
                    start + number(3)?,
                    rest(4)?
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

const VAE_RESNET: [(&str, &str); 1] = [("conv_shortcut", "nin_shortcut")];
const VAE_ATTENTION: [(&str, &str); 5] = [
    ("group_norm", "norm"),
    ("to_q", "q"),
    ("to_k", "k"),
    ("to_v", "v"),
    ("to_out.0", "proj_out"),
];

/// `blocks`: the VAE's number of down (and up) blocks; LDM numbers the decoder's up blocks
/// from the lowest resolution.
pub fn vae(name: &str, blocks: usize) -> Option<Source> {
    let fixed = [
        ("encoder.conv_norm_out", "encoder.norm_out"),
        ("decoder.conv_norm_out", "decoder.norm_out"),
    ];
    if let Some(key) = replace_prefix(name, &fixed) {
        return Some(Source::Whole(format!("{VAE}{key}")));
    }
    let parts: Vec<&str> = name.split('.').collect();
    let side = *parts.first()?;
    if !matches!(side, "encoder" | "decoder") {
        return Some(Source::Whole(format!("{VAE}{name}")));
    }
    let rest = |from: usize| parts.get(from..).map(|p| p.join("."));
    let number = |i: usize| parts.get(i)?.parse::<usize>().ok();
    let key = match *parts.get(1)? {
        "down_blocks" | "up_blocks" => {
            let block = number(2)?;
            let (place, ldm_block, sampler) = if side == "encoder" {
                ("down", block, "downsample")
            } else {
                ("up", blocks.checked_sub(block + 1)?, "upsample")
            };
            match *parts.get(3)? {
                "downsamplers" | "upsamplers" => {
                    format!("{side}.{place}.{ldm_block}.{sampler}.{}", rest(5)?)
                }
                "resnets" => format!(
                    "{side}.{place}.{ldm_block}.block.{}.{}",
                    number(4)?,
                    replace_prefix(&rest(5)?, &VAE_RESNET).unwrap_or(rest(5)?)
                ),
                _ => return None,
            }
        }
        "mid_block" => match *parts.get(2)? {
            "attentions" => {
                let inner = rest(4)?;
                let renamed = replace_prefix(&inner, &VAE_ATTENTION)?;
                let key = format!("{VAE}{side}.mid.attn_1.{renamed}");
                let linear = inner.ends_with(".weight") && !inner.starts_with("group_norm");
                return Some(if linear {
                    Source::Squeezed(key)
                } else {
                    Source::Whole(key)
                });
            }
            "resnets" => format!(
                "{side}.mid.block_{}.{}",
                number(3)? + 1,
                replace_prefix(&rest(4)?, &VAE_RESNET).unwrap_or(rest(4)?)
            ),
            _ => return None,
        },
        _ => name.to_string(),
    };
    Some(Source::Whole(format!("{VAE}{key}")))
}

/// A CLIP text-encoder weight in an OpenCLIP checkpoint (SD 2.x); `name` with or without
/// transformers' `text_model.` prefix.
pub fn open_clip(name: &str) -> Option<Source> {
    let name = name.strip_prefix("text_model.").unwrap_or(name);
    let whole = |key: String| Some(Source::Whole(format!("{OPEN_CLIP}{key}")));
    match name {
        "embeddings.token_embedding.weight" => return whole("token_embedding.weight".into()),
        "embeddings.position_embedding.weight" => return whole("positional_embedding".into()),
        _ => {}
    }
    if let Some(rest) = name.strip_prefix("final_layer_norm.") {
        return whole(format!("ln_final.{rest}"));
    }
    let rest = name.strip_prefix("encoder.layers.")?;
    let (layer, inner) = rest.split_once('.')?;
    let block = format!("{OPEN_CLIP}transformer.resblocks.{layer}.");
    for (index, projection) in ["q_proj", "k_proj", "v_proj"].into_iter().enumerate() {
        if let Some(kind) = inner.strip_prefix(&format!("self_attn.{projection}.")) {
            return Some(Source::Third {
                key: format!("{block}attn.in_proj_{kind}"),
                index,
            });
        }
    }
    let renamed = [
        ("layer_norm1", "ln_1"),
        ("layer_norm2", "ln_2"),
        ("self_attn.out_proj", "attn.out_proj"),
        ("mlp.fc1", "mlp.c_fc"),
        ("mlp.fc2", "mlp.c_proj"),
    ];
    replace_prefix(inner, &renamed).map(|r| Source::Whole(format!("{block}{r}")))
}

/// A CLIP text-encoder weight in an SD 1.x checkpoint (transformers' names).
pub fn hf_clip(name: &str) -> Option<Source> {
    let name = name.strip_prefix("text_model.").unwrap_or(name);
    Some(Source::Whole(format!("{HF_CLIP}text_model.{name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(key: &str) -> Option<Source> {
        Some(Source::Whole(key.to_string()))
    }

    #[test]
    fn sd2_unet_names_follow_the_ldm_numbering() {
        // SD 2.x: four blocks of two layers, attention in all but the last down block.
        let layout = UnetLayout {
            layers: vec![2; 4],
            up_has_attention: vec![false, true, true, true],
        };
        let at = |n: &str| unet(n, &layout);
        assert_eq!(
            at("conv_in.weight"),
            whole("model.diffusion_model.input_blocks.0.0.weight")
        );
        assert_eq!(
            at("down_blocks.1.resnets.0.norm1.weight"),
            whole("model.diffusion_model.input_blocks.4.0.in_layers.0.weight")
        );
        assert_eq!(
            at("down_blocks.1.attentions.1.proj_in.weight"),
            whole("model.diffusion_model.input_blocks.5.1.proj_in.weight")
        );
        assert_eq!(
            at("down_blocks.2.downsamplers.0.conv.bias"),
            whole("model.diffusion_model.input_blocks.9.0.op.bias")
        );
        assert_eq!(
            at("mid_block.resnets.1.time_emb_proj.weight"),
            whole("model.diffusion_model.middle_block.2.emb_layers.1.weight")
        );
        assert_eq!(
            at("up_blocks.0.upsamplers.0.conv.weight"),
            whole("model.diffusion_model.output_blocks.2.1.conv.weight")
        );
        assert_eq!(
            at("up_blocks.1.upsamplers.0.conv.weight"),
            whole("model.diffusion_model.output_blocks.5.2.conv.weight")
        );
        assert_eq!(
            at("up_blocks.3.resnets.2.conv_shortcut.weight"),
            whole("model.diffusion_model.output_blocks.11.0.skip_connection.weight")
        );
        assert_eq!(at("down_blocks.9.resnets.0.conv1.weight"), None);
    }

    #[test]
    fn vae_and_text_names_follow_the_ldm_layout() {
        assert_eq!(
            vae("decoder.up_blocks.0.resnets.1.conv_shortcut.weight", 4),
            whole("first_stage_model.decoder.up.3.block.1.nin_shortcut.weight")
        );
        assert_eq!(
            vae("encoder.mid_block.attentions.0.to_out.0.weight", 4),
            Some(Source::Squeezed(
                "first_stage_model.encoder.mid.attn_1.proj_out.weight".into()
            ))
        );
        assert_eq!(
            vae("encoder.mid_block.resnets.1.norm2.bias", 4),
            whole("first_stage_model.encoder.mid.block_2.norm2.bias")
        );
        assert_eq!(
            open_clip("text_model.encoder.layers.3.self_attn.k_proj.bias"),
            Some(Source::Third {
                key: "cond_stage_model.model.transformer.resblocks.3.attn.in_proj_bias".into(),
                index: 1
            })
        );
        assert_eq!(
            open_clip("encoder.layers.0.mlp.fc2.weight"),
            whole("cond_stage_model.model.transformer.resblocks.0.mlp.c_proj.weight")
        );
        assert_eq!(
            hf_clip("final_layer_norm.weight"),
            whole("cond_stage_model.transformer.text_model.final_layer_norm.weight")
        );
    }
}
