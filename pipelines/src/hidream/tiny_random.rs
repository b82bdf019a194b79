//! A complete HiDream model folder, and a Llama folder beside it, small enough to build in
//! a second and filled with random weights: what the `--demo` of the edit example and the
//! CLI tests run the whole path on without any download.
//!
//! The folders have the layout and file formats of the real ones (diffusers component
//! folders, transformers' `config.json`, CLIP vocab/merges, `tokenizer.json` for T5 and
//! Llama, Llama's decoder under `model.` as in LlamaForCausalLM checkpoints), so they go
//! through the same loaders a real download does. Their outputs mean nothing: say
//! "random weights" wherever they are shown.

use crate::encoders::clip::ClipTextConfig;
use crate::encoders::clip::ClipTextModelWithProjection;
use crate::encoders::{LlamaConfig, LlamaModel, T5Config, T5EncoderModel};
use crate::hidream::HiDreamError;
use crate::hidream::transformer::{HiDreamTransformer, TransformerConfig};
use crate::layers::Kernels;
use crate::model_tensor::{ModelDevice, VarBuilder as ModelVars};
use crate::models::autoencoders::AutoencoderKL;
use crate::models::autoencoders::VaeConfig;
use crate::weights::ShapeRecorder;
use candle_core::{Device, Tensor};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where [`write_tiny_random_model`] put the two folders.
#[derive(Debug, Clone)]
pub struct TinyRandomModel {
    /// A HiDream-I1-shaped folder (transformer, vae, scheduler, three text encoders and
    /// their tokenizers), also usable as E1.1 and as the refine model.
    pub model_dir: PathBuf,
    /// A Llama-3.1-Instruct-shaped folder, supplied separately as for the real model.
    pub llama_dir: PathBuf,
}

/// Widths shared between components: the transformer's caption and pooled inputs must
/// match what the encoders produce.
const T5_WIDTH: usize = 32;
const LLAMA_WIDTH: usize = 32;
const CLIP_PROJECTION: usize = 32;
/// Prompt length of every encoder, as HiDream's pipeline pads to it.
pub const TINY_MAX_TOKENS: usize = 128;

/// Writes `root/hidream-tiny` and `root/llama-tiny`; the same seed gives the same bytes.
pub fn write_tiny_random_model(root: &Path, seed: u64) -> Result<TinyRandomModel, HiDreamError> {
    let model_dir = root.join("hidream-tiny");
    let llama_dir = root.join("llama-tiny");
    let mut weights = RandomWeights::new(seed);

    write_json(&model_dir.join("model_index.json"), &model_index())?;
    write_json(
        &model_dir.join("scheduler/scheduler_config.json"),
        &json!({
            "_class_name": "FlowMatchEulerDiscreteScheduler",
            "num_train_timesteps": 1000,
            "shift": 3.0,
            "use_dynamic_shifting": false
        }),
    )?;

    let transformer = transformer_config();
    let transformer_dir = model_dir.join("transformer");
    write_json(&transformer_dir.join("config.json"), &transformer)?;
    let config: TransformerConfig = parse(&transformer)?;
    let names =
        record(|vb| HiDreamTransformer::new(config.clone(), vb, Kernels::default()).map(drop))?;
    weights.save(
        &names,
        &transformer_dir.join("diffusion_pytorch_model.safetensors"),
    )?;

    let vae = vae_config();
    let vae_dir = model_dir.join("vae");
    write_json(&vae_dir.join("config.json"), &vae)?;
    let config: VaeConfig = parse(&vae)?;
    let names = record(|vb| Ok(AutoencoderKL::new(vb, &config).map(drop)?))?;
    weights.save(&names, &vae_dir.join("diffusion_pytorch_model.safetensors"))?;

    for (folder, pad) in [("text_encoder", CLIP_END), ("text_encoder_2", "!")] {
        let clip = clip_config();
        let dir = model_dir.join(folder);
        write_json(&dir.join("config.json"), &clip)?;
        let config: ClipTextConfig = parse(&clip)?;
        let names = record(|vb| Ok(ClipTextModelWithProjection::new(vb, &config).map(drop)?))?;
        weights.save(&names, &dir.join("model.safetensors"))?;
        let tokenizer = folder.replace("text_encoder", "tokenizer");
        write_clip_tokenizer(&model_dir.join(tokenizer), pad)?;
    }

    let t5 = t5_config();
    let t5_dir = model_dir.join("text_encoder_3");
    write_json(&t5_dir.join("config.json"), &t5)?;
    let config: T5Config = parse(&t5)?;
    let names = record(|vb| Ok(T5EncoderModel::new(vb, &config).map(drop)?))?;
    weights.save(&names, &t5_dir.join("model.safetensors"))?;
    write_t5_tokenizer(&model_dir.join("tokenizer_3"))?;

    let llama = llama_config();
    write_json(&llama_dir.join("config.json"), &llama)?;
    let config: LlamaConfig = parse(&llama)?;
    let mut names = record(|vb| Ok(LlamaModel::new(vb, &config).map(drop)?))?;
    // Real Instruct checkpoints carry the LM head too; the loader must skip it.
    names.push(("lm_head.weight".into(), vec![LLAMA_VOCAB, LLAMA_WIDTH]));
    let prefixed: Vec<_> = names
        .into_iter()
        .map(|(n, s)| {
            let n = if n.starts_with("lm_head") {
                n
            } else {
                format!("model.{n}")
            };
            (n, s)
        })
        .collect();
    weights.save(&prefixed, &llama_dir.join("model.safetensors"))?;
    write_llama_tokenizer(&llama_dir)?;

    Ok(TinyRandomModel {
        model_dir,
        llama_dir,
    })
}

/// The modules HiDream-E1-Full's adapter targets (its script's `LoraConfig.target_modules`).
const LORA_TARGETS: [&str; 12] = [
    "to_q",
    "to_k",
    "to_v",
    "to_out",
    "to_q_t",
    "to_k_t",
    "to_v_t",
    "to_out_t",
    "w1",
    "w2",
    "w3",
    "final_layer.linear",
];
/// E1-Full's rank (and alpha, so its updates are applied at scale 1).
pub const TINY_LORA_RANK: usize = 16;

/// Writes a rank-16 LoRA for the tiny transformer at `path`, keyed as HiDream-E1-Full's
/// checkpoint is (PEFT `<module>.lora_A.default.weight` / `lora_B`), over every module the
/// E1-Full adapter targets. Returns how many modules it adapts.
pub fn write_tiny_lora(
    model: &TinyRandomModel,
    path: &Path,
    seed: u64,
) -> Result<usize, HiDreamError> {
    let weights_path = model
        .model_dir
        .join("transformer/diffusion_pytorch_model.safetensors");
    let base = candle_core::safetensors::load(&weights_path, &Device::Cpu)
        .map_err(|e| io_error(&weights_path, e))?;
    let mut modules: Vec<(String, Vec<usize>)> = base
        .iter()
        .filter_map(|(name, tensor)| {
            let module = name.strip_suffix(".weight")?;
            let targeted = LORA_TARGETS
                .iter()
                .any(|t| module.ends_with(&format!(".{t}")) || module == *t);
            (targeted && tensor.rank() == 2).then(|| (module.to_string(), tensor.dims().to_vec()))
        })
        .collect();
    modules.sort();
    let mut rng = device::TorchRng::new(seed);
    let mut tensors = HashMap::new();
    for (module, shape) in &modules {
        let (out_features, in_features) = (shape[0], shape[1]);
        let random = |rng: &mut device::TorchRng, rows: usize, cols: usize, scale: f32| {
            let values: Vec<f32> = rng
                .randn_f32(rows * cols)
                .iter()
                .map(|v| scale * v)
                .collect();
            Tensor::from_vec(values, (rows, cols), &Device::Cpu)
        };
        let down = random(&mut rng, TINY_LORA_RANK, in_features, 0.1)?;
        let up = random(&mut rng, out_features, TINY_LORA_RANK, 0.1)?;
        tensors.insert(format!("{module}.lora_A.default.weight"), down);
        tensors.insert(format!("{module}.lora_B.default.weight"), up);
    }
    create_parent(path)?;
    candle_core::safetensors::save(&tensors, path).map_err(|e| io_error(path, e))?;
    Ok(modules.len())
}

fn model_index() -> Value {
    json!({
        "_class_name": "HiDreamImagePipeline",
        "_diffusers_version": "0.42.1",
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "text_encoder_3": ["transformers", "T5EncoderModel"],
        "text_encoder_4": [null, null],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "tokenizer_3": ["transformers", "T5TokenizerFast"],
        "tokenizer_4": [null, null],
        "transformer": ["diffusers", "HiDreamImageTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKL"]
    })
}

/// diffusers' own test transformer, with the real 16 latent channels.
fn transformer_config() -> Value {
    json!({
        "_class_name": "HiDreamImageTransformer2DModel",
        "patch_size": 2,
        "in_channels": 16,
        "out_channels": 16,
        "num_layers": 1,
        "num_single_layers": 1,
        "attention_head_dim": 8,
        "num_attention_heads": 4,
        "caption_channels": [T5_WIDTH, LLAMA_WIDTH],
        "text_emb_dim": 2 * CLIP_PROJECTION,
        "num_routed_experts": 4,
        "num_activated_experts": 2,
        "axes_dims_rope": [4, 2, 2],
        "max_resolution": [128, 128],
        "llama_layers": [0, 1]
    })
}

/// A Flux-style 16-channel VAE (8x downsampling) at a few channels.
fn vae_config() -> Value {
    json!({
        "_class_name": "AutoencoderKL",
        "act_fn": "silu",
        "block_out_channels": [8, 16, 16, 16],
        "down_block_types": vec!["DownEncoderBlock2D"; 4],
        "up_block_types": vec!["UpDecoderBlock2D"; 4],
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 16,
        "layers_per_block": 1,
        "norm_num_groups": 4,
        "mid_block_add_attention": true,
        "scaling_factor": 0.3611,
        "shift_factor": 0.1159,
        "use_quant_conv": false,
        "use_post_quant_conv": false
    })
}

fn clip_config() -> Value {
    json!({
        "model_type": "clip_text_model",
        "architectures": ["CLIPTextModelWithProjection"],
        "vocab_size": CLIP_VOCAB,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": TINY_MAX_TOKENS,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
        "projection_dim": CLIP_PROJECTION,
        "bos_token_id": CLIP_VOCAB - 2,
        "eos_token_id": CLIP_VOCAB - 1,
        "pad_token_id": CLIP_VOCAB - 1
    })
}

fn t5_config() -> Value {
    json!({
        "architectures": ["T5EncoderModel"],
        "model_type": "t5",
        "vocab_size": t5_vocab().len(),
        "d_model": T5_WIDTH,
        "d_kv": 8,
        "d_ff": 64,
        "num_layers": 2,
        "num_heads": 4,
        "feed_forward_proj": "gated-gelu",
        "dense_act_fn": "gelu_new",
        "is_gated_act": true,
        "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128,
        "layer_norm_epsilon": 1e-6,
        "pad_token_id": 0,
        "eos_token_id": 1
    })
}

fn llama_config() -> Value {
    json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": LLAMA_VOCAB,
        "hidden_size": LLAMA_WIDTH,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 8,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 512,
        "rope_theta": 500000.0,
        "rope_scaling": {
            "factor": 8.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 256,
            "rope_type": "llama3"
        },
        "bos_token_id": LLAMA_BOS,
        "eos_token_id": LLAMA_EOS,
        "tie_word_embeddings": false
    })
}

// ---- tokenizers -------------------------------------------------------------------------

const CLIP_START: &str = "<|startoftext|>";
const CLIP_END: &str = "<|endoftext|>";
/// Every byte as a word piece and as a word end, then the two specials: no merges, so
/// each character is a token, which is all a random-weight model needs.
const CLIP_VOCAB: usize = 2 * 256 + 2;

fn write_clip_tokenizer(dir: &Path, pad: &str) -> Result<(), HiDreamError> {
    let symbols = byte_symbols();
    let mut vocab = serde_json::Map::new();
    for (i, c) in symbols.iter().enumerate() {
        vocab.insert(c.to_string(), json!(i));
    }
    for (i, c) in symbols.iter().enumerate() {
        vocab.insert(format!("{c}</w>"), json!(256 + i));
    }
    vocab.insert(CLIP_START.into(), json!(CLIP_VOCAB - 2));
    vocab.insert(CLIP_END.into(), json!(CLIP_VOCAB - 1));
    write_json(&dir.join("vocab.json"), &Value::Object(vocab))?;
    write_text(&dir.join("merges.txt"), "#version: 0.2\n")?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "CLIPTokenizer",
            "model_max_length": TINY_MAX_TOKENS,
            "bos_token": CLIP_START,
            "eos_token": CLIP_END,
            "unk_token": CLIP_END,
            "pad_token": pad
        }),
    )
}

/// The T5 vocabulary: specials, the word-start marker, and each printable ASCII character
/// alone and after the marker, the latter more likely (as SentencePiece scores are).
fn t5_vocab() -> Vec<(String, f64)> {
    let mut vocab: Vec<(String, f64)> = vec![
        ("<pad>".into(), 0.0),
        ("</s>".into(), 0.0),
        ("<unk>".into(), 0.0),
        ("\u{2581}".into(), -2.0),
    ];
    for c in (b'!'..=b'~').map(char::from) {
        vocab.push((c.to_string(), -6.0));
        vocab.push((format!("\u{2581}{c}"), -5.0));
    }
    vocab
}

fn write_t5_tokenizer(dir: &Path) -> Result<(), HiDreamError> {
    let special = |id: usize, content: &str| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    let vocab: Vec<Value> = t5_vocab().into_iter().map(|(t, s)| json!([t, s])).collect();
    let metaspace = json!({"type": "Metaspace", "replacement": "\u{2581}",
                           "prepend_scheme": "always", "split": true});
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(0, "<pad>"), special(1, "</s>"), special(2, "<unk>")],
        "normalizer": {"type": "NFKC"},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}
        },
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": false}
    });
    write_json(&dir.join("tokenizer.json"), &tokenizer)?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "T5Tokenizer",
            "model_max_length": 512,
            "eos_token": "</s>",
            "pad_token": "<pad>",
            "unk_token": "<unk>"
        }),
    )
}

const LLAMA_BOS: usize = 256;
const LLAMA_EOS: usize = 257;
const LLAMA_VOCAB: usize = 258;

fn write_llama_tokenizer(dir: &Path) -> Result<(), HiDreamError> {
    let mut vocab = serde_json::Map::new();
    for (i, c) in byte_symbols().iter().enumerate() {
        vocab.insert(c.to_string(), json!(i));
    }
    let special = |id: usize, content: &str| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
                            "trim_offsets": true, "use_regex": true});
    let bos = "<|begin_of_text|>";
    let eos = "<|eot_id|>";
    vocab.insert(bos.into(), json!(LLAMA_BOS));
    vocab.insert(eos.into(), json!(LLAMA_EOS));
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(LLAMA_BOS, bos), special(LLAMA_EOS, eos)],
        "normalizer": null,
        "pre_tokenizer": byte_level,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [LLAMA_BOS], "tokens": [bos]}}
        },
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": []}
    });
    write_json(&dir.join("tokenizer.json"), &tokenizer)?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": 131072,
            "bos_token": bos,
            "eos_token": eos
        }),
    )
}

/// GPT-2's byte-to-character table, which CLIP's and Llama's vocabularies are written in.
fn byte_symbols() -> Vec<char> {
    let printable = |b: u32| (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    let mut extra = 0;
    (0..256u32)
        .map(|b| {
            let code = if printable(b) {
                b
            } else {
                extra += 1;
                255 + extra
            };
            char::from_u32(code).unwrap_or('?')
        })
        .collect()
}

// ---- weights ----------------------------------------------------------------------------

/// The (name, shape) of every parameter `build` asks for.
fn record(
    build: impl FnOnce(ModelVars<'static>) -> Result<(), HiDreamError>,
) -> Result<Vec<(String, Vec<usize>)>, HiDreamError> {
    let recorder = ShapeRecorder::default();
    build(ModelVars::new(
        recorder.var_builder(),
        ModelDevice::Candle(Device::Cpu),
    ))?;
    Ok(recorder.names_and_shapes())
}

/// Deterministic random parameters: matrices scaled by 1/sqrt(fan-in) so activations stay
/// O(1) through the layers, norm scales at one, small biases.
struct RandomWeights {
    rng: device::TorchRng,
}

impl RandomWeights {
    fn new(seed: u64) -> Self {
        Self {
            rng: device::TorchRng::new(seed),
        }
    }

    fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Tensor, HiDreamError> {
        let numel: usize = shape.iter().product();
        let is_norm_scale = shape.len() == 1 && name.ends_with("weight");
        let values: Vec<f32> = if is_norm_scale {
            vec![1.0; numel]
        } else if shape.len() == 1 {
            self.rng.randn_f32(numel).iter().map(|v| 0.02 * v).collect()
        } else {
            let fan_in: usize = shape[1..].iter().product();
            let scale = 1.0 / (fan_in.max(1) as f32).sqrt();
            self.rng
                .randn_f32(numel)
                .iter()
                .map(|v| scale * v)
                .collect()
        };
        Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
    }

    fn save(&mut self, names: &[(String, Vec<usize>)], path: &Path) -> Result<(), HiDreamError> {
        let mut sorted = names.to_vec();
        sorted.sort();
        sorted.dedup();
        let mut tensors = HashMap::new();
        for (name, shape) in &sorted {
            tensors.insert(name.clone(), self.tensor(name, shape)?);
        }
        create_parent(path)?;
        candle_core::safetensors::save(&tensors, path).map_err(|e| io_error(path, e))
    }
}

// ---- files ------------------------------------------------------------------------------

fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, HiDreamError> {
    serde_json::from_value(value.clone())
        .map_err(|e| HiDreamError::InvalidInput(format!("tiny model config: {e}")))
}

fn write_json(path: &Path, value: &Value) -> Result<(), HiDreamError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| HiDreamError::InvalidInput(format!("{}: {e}", path.display())))?;
    write_text(path, &text)
}

fn write_text(path: &Path, text: &str) -> Result<(), HiDreamError> {
    create_parent(path)?;
    std::fs::write(path, text).map_err(|e| io_error(path, e))
}

fn create_parent(path: &Path) -> Result<(), HiDreamError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e)),
        None => Ok(()),
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> HiDreamError {
    HiDreamError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
