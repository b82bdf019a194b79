//! Prompts to [`PromptEmbeds`], as diffusers' `HiDreamImagePipeline.encode_prompt` does it,
//! loading the four text encoders one at a time: together they are ~14 GB in bf16 (the
//! Llama alone 16 GB), so each is dropped before the next is read.
//!
//! Order: CLIP-L (tokenizer/, text_encoder/), CLIP-G (tokenizer_2/, text_encoder_2/), T5
//! (tokenizer_3/, text_encoder_3/), then Llama-3.1-8B-Instruct from its own folder, which
//! HiDream does not ship.

use super::prompt_embeds::PromptEmbeds;
use super::tokenize::{self, SentenceTokenizer, TokenizerError, Tokens};
use crate::encoders::clip::ClipTextConfig;
use crate::encoders::clip::ClipTextModelWithProjection;
use crate::encoders::{EncoderError, LlamaModel, T5EncoderModel};
use crate::model_tensor::{ModelDevice, Tensor as ModelTensor, VarBuilder};
use candle_core::{DType, Device, Tensor};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PromptEncodingError {
    #[error(
        "HiDream needs Llama-3.1-8B-Instruct, downloaded separately (Hugging Face: \
         meta-llama/Llama-3.1-8B-Instruct, a gated model) and passed with --llama DIR; {}: {problem}",
        dir.display()
    )]
    Llama { dir: PathBuf, problem: String },
    #[error("{}: {problem}", dir.display())]
    Component { dir: PathBuf, problem: String },
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Encoder(#[from] EncoderError),
    #[error("{component}: {source}")]
    Run {
        component: String,
        #[source]
        source: candle_core::Error,
    },
}

type Result<T> = std::result::Result<T, PromptEncodingError>;

/// The text for each encoder. `prompt_2`..`prompt_4` (CLIP-G, T5, Llama) fall back to
/// `prompt`, `negative_prompt` to "" and `negative_prompt_2`..`_4` to `negative_prompt`;
/// like diffusers' `or`, an empty string counts as absent for every fallback.
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    pub prompt: String,
    pub prompt_2: Option<String>,
    pub prompt_3: Option<String>,
    pub prompt_4: Option<String>,
    pub negative_prompt: Option<String>,
    pub negative_prompt_2: Option<String>,
    pub negative_prompt_3: Option<String>,
    pub negative_prompt_4: Option<String>,
}

fn or_else<'a>(value: &'a Option<String>, fallback: &'a str) -> &'a str {
    value
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(fallback)
}

impl Prompts {
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            ..Self::default()
        }
    }

    /// The positive texts for CLIP-L, CLIP-G, T5 and Llama.
    pub fn positive(&self) -> [&str; 4] {
        let p = self.prompt.as_str();
        [
            p,
            or_else(&self.prompt_2, p),
            or_else(&self.prompt_3, p),
            or_else(&self.prompt_4, p),
        ]
    }

    /// The negative texts for CLIP-L, CLIP-G, T5 and Llama.
    pub fn negative(&self) -> [&str; 4] {
        let n = or_else(&self.negative_prompt, "");
        [
            n,
            or_else(&self.negative_prompt_2, n),
            or_else(&self.negative_prompt_3, n),
            or_else(&self.negative_prompt_4, n),
        ]
    }
}

/// Where the encoders are: a HiDream model folder and the Llama folder.
#[derive(Debug, Clone)]
pub struct EncoderFolders {
    pub model: PathBuf,
    pub llama: PathBuf,
}

#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Tokens per prompt for T5 and Llama (and CLIP, capped at 218); the pipeline's 128.
    pub max_sequence_length: usize,
    /// Whether to encode the negative prompt too (classifier-free guidance).
    pub with_negative: bool,
    pub dtype: DType,
    /// Where the encoders run; the embeddings come back to the host.
    pub device: ModelDevice,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            max_sequence_length: tokenize::DEFAULT_MAX_SEQUENCE_LENGTH,
            with_negative: true,
            dtype: DType::F32,
            device: ModelDevice::Candle(Device::Cpu),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EncodedPrompts {
    pub positive: PromptEmbeds,
    pub negative: Option<PromptEmbeds>,
    /// diffusers-style truncation notices, one per encoder and prompt that did not fit.
    pub warnings: Vec<String>,
}

/// The four text encoders of a model folder, in the order they are loaded.
pub const ENCODERS: [(&str, &str, &str); 3] = [
    ("CLIP-L", "tokenizer", "text_encoder"),
    ("CLIP-G", "tokenizer_2", "text_encoder_2"),
    ("T5", "tokenizer_3", "text_encoder_3"),
];

fn component_problem(dir: &Path, problem: impl Into<String>) -> PromptEncodingError {
    PromptEncodingError::Component {
        dir: dir.to_path_buf(),
        problem: problem.into(),
    }
}

fn has_weights(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
    })
}

impl EncoderFolders {
    /// Every file prompt encoding will read is present, checked before anything is loaded
    /// so that a missing piece is reported in seconds rather than after gigabytes.
    pub fn check(&self) -> Result<()> {
        for (_, tokenizer, encoder) in ENCODERS {
            let tok_dir = self.model.join(tokenizer);
            if tokenizer == "tokenizer_3" {
                if !tok_dir.join("tokenizer.json").is_file() {
                    return Err(TokenizerError::NoTokenizerJson { dir: tok_dir }.into());
                }
            } else if let Some(problem) = crate::encoders::clip::missing_layout(&tok_dir) {
                return Err(component_problem(&tok_dir, problem));
            }
            let enc_dir = self.model.join(encoder);
            if !enc_dir.join("config.json").is_file() {
                return Err(component_problem(&enc_dir, "no config.json"));
            }
            if !has_weights(&enc_dir) {
                return Err(component_problem(&enc_dir, "no *.safetensors weights"));
            }
        }
        let llama_problem = |problem: &str| PromptEncodingError::Llama {
            dir: self.llama.clone(),
            problem: problem.to_string(),
        };
        if !self.llama.is_dir() {
            return Err(llama_problem("not a folder"));
        }
        for file in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
            if !self.llama.join(file).is_file() {
                return Err(llama_problem(&format!("no {file}")));
            }
        }
        if !has_weights(&self.llama) {
            return Err(llama_problem("no *.safetensors weights"));
        }
        Ok(())
    }
}

fn run_error(component: &str) -> impl Fn(candle_core::Error) -> PromptEncodingError + '_ {
    move |source| PromptEncodingError::Run {
        component: component.to_string(),
        source,
    }
}

/// `[1, len]` u32 ids and mask of one tokenized prompt.
/// The ids on the encoders' device and the padding mask on its host side (the encoders
/// read the mask on the host to build their attention masks).
fn id_tensors(
    tokens: &Tokens,
    device: &ModelDevice,
) -> candle_core::Result<(ModelTensor, ModelTensor)> {
    let len = tokens.ids.len();
    Ok((
        ModelTensor::from_vec(tokens.ids.clone(), (1, len), device)?,
        ModelTensor::Candle(Tensor::from_slice(&tokens.mask, (1, len), &device.host())?),
    ))
}

fn note_truncation(warnings: &mut Vec<String>, tokens: &Tokens, encoder: &str) {
    if let Some(w) = tokens.truncation_warning(encoder) {
        warnings.push(w);
    }
}

/// Pooled `text_embeds` of one CLIP with projection, for each text.
fn encode_clip(
    folders: &EncoderFolders,
    which: usize,
    texts: &[&str],
    options: &EncodeOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<Tensor>> {
    let (name, tokenizer_dir, encoder_dir) = ENCODERS[which];
    let tokenizer = tokenize::clip(
        &folders.model.join(tokenizer_dir),
        options.max_sequence_length,
    )?;
    let dir = folders.model.join(encoder_dir);
    let config_path = dir.join("config.json");
    let config: ClipTextConfig = crate::input_file::read_text(&config_path)
        .map_err(|e| e.to_string())
        .and_then(|t| crate::python_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| component_problem(&config_path, e))?;
    if config.max_position_embeddings < tokenizer.max_length() {
        return Err(component_problem(
            &config_path,
            format!(
                "max_position_embeddings {} is shorter than the {} tokens HiDream gives CLIP",
                config.max_position_embeddings,
                tokenizer.max_length()
            ),
        ));
    }
    let vb = crate::weights::component_vars(&dir, options.dtype, &options.device.host())
        .map_err(|e| component_problem(&dir, e.to_string()))?;
    let vb = VarBuilder::new(vb, options.device.clone());
    let model = ClipTextModelWithProjection::new(vb, &config).map_err(run_error(encoder_dir))?;
    texts
        .iter()
        .map(|text| {
            let tokens = tokenize::encode_clip(&tokenizer, text)?;
            note_truncation(warnings, &tokens, name);
            let (ids, _) = id_tensors(&tokens, &options.device).map_err(run_error(encoder_dir))?;
            let (_, pooled) = model.forward(&ids).map_err(run_error(encoder_dir))?;
            pooled.into_host().map_err(run_error(encoder_dir))
        })
        .collect()
}

/// T5's last hidden state for each text.
fn encode_t5(
    folders: &EncoderFolders,
    texts: &[&str],
    options: &EncodeOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<Tensor>> {
    let (name, tokenizer_dir, encoder_dir) = ENCODERS[2];
    let tokenizer = SentenceTokenizer::t5(
        &folders.model.join(tokenizer_dir),
        options.max_sequence_length,
    )?;
    let model = T5EncoderModel::load(
        &folders.model.join(encoder_dir),
        options.dtype,
        &options.device,
    )?;
    texts
        .iter()
        .map(|text| {
            let tokens = tokenizer.encode(text)?;
            note_truncation(warnings, &tokens, name);
            let (ids, mask) =
                id_tensors(&tokens, &options.device).map_err(run_error(encoder_dir))?;
            model
                .forward(&ids, Some(&mask))
                .and_then(ModelTensor::into_host)
                .map_err(run_error(encoder_dir))
        })
        .collect()
}

/// Llama's hidden states after every layer, `[layers, 1, tokens, hidden]`, for each text.
fn encode_llama(
    folders: &EncoderFolders,
    texts: &[&str],
    options: &EncodeOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<Tensor>> {
    let tokenizer = SentenceTokenizer::llama(&folders.llama, options.max_sequence_length)?;
    let model = LlamaModel::load(&folders.llama, options.dtype, &options.device)?;
    let component = "Llama";
    texts
        .iter()
        .map(|text| {
            let tokens = tokenizer.encode(text)?;
            note_truncation(warnings, &tokens, component);
            let (ids, mask) = id_tensors(&tokens, &options.device).map_err(run_error(component))?;
            let states = model
                .forward(&ids, Some(&mask))
                .map_err(run_error(component))?;
            // transformers' hidden_states[1:]: every layer's output, not the embeddings.
            ModelTensor::stack(&states[1..], 0)
                .and_then(ModelTensor::into_host)
                .map_err(run_error(component))
        })
        .collect()
}

/// Encodes `prompts` (and the negative prompts when `options.with_negative`) with the four
/// encoders, loading and dropping them one at a time. `on_stage` hears which encoder is
/// about to load ("CLIP-L", "CLIP-G", "T5", "Llama").
pub fn encode_prompts(
    folders: &EncoderFolders,
    prompts: &Prompts,
    options: &EncodeOptions,
    on_stage: impl FnMut(&str),
) -> Result<EncodedPrompts> {
    let mut sets = vec![prompts.positive()];
    if options.with_negative {
        sets.push(prompts.negative());
    }
    let (mut embeds, warnings) = encode_text_sets(folders, &sets, options, on_stage)?;
    let negative = if options.with_negative {
        embeds.pop()
    } else {
        None
    };
    let positive = embeds.pop().ok_or_else(|| PromptEncodingError::Component {
        dir: folders.model.clone(),
        problem: "no embeddings were produced".into(),
    })?;
    Ok(EncodedPrompts {
        positive,
        negative,
        warnings,
    })
}

/// Encodes several prompt sets (texts for CLIP-L, CLIP-G, T5, Llama), each encoder loaded
/// once for all of them: an edit needs its prompt, its negative prompt and the refine
/// stage's target description. Returns one [`PromptEmbeds`] per set, in order, and the
/// truncation warnings.
pub fn encode_text_sets(
    folders: &EncoderFolders,
    sets: &[[&str; 4]],
    options: &EncodeOptions,
    mut on_stage: impl FnMut(&str),
) -> Result<(Vec<PromptEmbeds>, Vec<String>)> {
    folders.check()?;
    let mut warnings = Vec::new();
    let column = |i: usize| sets.iter().map(|set| set[i]).collect::<Vec<_>>();
    // Each call owns its model, which is dropped when the call returns.
    on_stage("CLIP-L");
    let clip_l = encode_clip(folders, 0, &column(0), options, &mut warnings)?;
    on_stage("CLIP-G");
    let clip_g = encode_clip(folders, 1, &column(1), options, &mut warnings)?;
    on_stage("T5");
    let t5 = encode_t5(folders, &column(2), options, &mut warnings)?;
    on_stage("Llama");
    let llama = encode_llama(folders, &column(3), options, &mut warnings)?;
    let embeds = (0..sets.len())
        .map(|i| {
            Ok(PromptEmbeds {
                t5: t5[i].clone(),
                llama: llama[i].clone(),
                pooled: Tensor::cat(&[&clip_l[i], &clip_g[i]], 1)
                    .map_err(run_error("pooled CLIP"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((embeds, warnings))
}
