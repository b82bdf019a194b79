//! HiDream's four tokenizers, called as diffusers' `HiDreamImagePipeline` calls them:
//! padded to `max_length` and truncated, with the attention mask and a truncation notice.
//!
//! - tokenizer/, tokenizer_2/: CLIP BPE (tokenizer.json, or vocab.json + merges.txt) through the SD tokenizer,
//!   128 tokens whatever `model_max_length` says (the pipeline passes `min(128, 218)`); the
//!   pad token comes from each folder's tokenizer_config.json.
//! - tokenizer_3/: T5 from tokenizer.json, rebuilt the way transformers 5.x's T5Tokenizer
//!   rebuilds it (see [`SentenceTokenizer::t5`]).
//! - the separately supplied Llama folder: tokenizer.json as it is, padded with the eos
//!   token (diffusers sets `pad_token = eos_token`).

use crate::encoders::clip::ClipTokenizer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{PostProcessor, Tokenizer, TruncationDirection};

/// What the pipeline asks every tokenizer for unless told otherwise.
pub const DEFAULT_MAX_SEQUENCE_LENGTH: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error(
        "{}: no tokenizer.json; HiDream's T5 and Llama tokenizers are read from tokenizer.json \
         (a folder with only spiece.model / tokenizer.model cannot be used: convert it with \
         transformers' `AutoTokenizer.from_pretrained(dir).save_pretrained(dir)`)",
        dir.display()
    )]
    NoTokenizerJson { dir: PathBuf },
    #[error("tokenizing {what}: {message}")]
    Encode { what: String, message: String },
}

/// One tokenized prompt, `max_length` long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub mask: Vec<u32>,
    /// Set when the prompt did not fit.
    pub truncated: Option<Truncation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Tokens the whole prompt needs, special tokens included.
    pub needed: usize,
    pub max_length: usize,
    /// The text that was cut off.
    pub removed_text: String,
}

impl Tokens {
    fn padded(
        mut ids: Vec<u32>,
        max_length: usize,
        pad: u32,
        truncated: Option<Truncation>,
    ) -> Self {
        let real = ids.len().min(max_length);
        ids.truncate(max_length);
        ids.resize(max_length, pad);
        let mask = (0..max_length).map(|i| u32::from(i < real)).collect();
        Self {
            ids,
            mask,
            truncated,
        }
    }

    /// diffusers' warning for a truncated prompt, `None` when it fitted.
    pub fn truncation_warning(&self, encoder: &str) -> Option<String> {
        self.truncated.as_ref().map(|t| {
            format!(
                "The following part of your input was truncated because {encoder} is limited to \
                 {} tokens ({} needed): {:?}",
                t.max_length, t.needed, t.removed_text
            )
        })
    }
}

/// CLIP tokenizer at HiDream's length.
pub fn clip(dir: &Path, max_sequence_length: usize) -> Result<ClipTokenizer, TokenizerError> {
    let tokenizer = ClipTokenizer::from_dir(dir).map_err(|e| TokenizerError::File {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    // The pipeline's min(max_sequence_length, 218): 218 is a fixed cap, not the file's.
    Ok(tokenizer.with_max_length(max_sequence_length.min(218)))
}

pub fn encode_clip(tokenizer: &ClipTokenizer, text: &str) -> Result<Tokens, TokenizerError> {
    let enc = tokenizer.encode(text).map_err(|e| TokenizerError::Encode {
        what: "the CLIP prompt".into(),
        message: e.to_string(),
    })?;
    let truncated = enc.truncated.then(|| Truncation {
        needed: enc.length + enc.removed.len(),
        max_length: tokenizer.max_length(),
        removed_text: tokenizer.decode(&enc.removed),
    });
    let mut tokens = Tokens::padded(
        enc.ids,
        tokenizer.max_length(),
        tokenizer.pad_id(),
        truncated,
    );
    // CLIP-L pads with its end token: the mask still covers only the first one.
    for (i, m) in tokens.mask.iter_mut().enumerate() {
        *m = u32::from(i < enc.length);
    }
    Ok(tokens)
}

/// A tokenizer.json tokenizer (T5 or Llama) padded and truncated to a fixed length.
#[derive(Clone)]
pub struct SentenceTokenizer {
    tokenizer: Tokenizer,
    pad: u32,
    max_length: usize,
    /// Where error messages point.
    dir: PathBuf,
}

impl std::fmt::Debug for SentenceTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceTokenizer")
            .field("dir", &self.dir)
            .field("pad", &self.pad)
            .field("max_length", &self.max_length)
            .finish()
    }
}

/// tokenizer_config.json, or an empty object when the folder has none.
fn tokenizer_config(dir: &Path) -> Result<Value, TokenizerError> {
    let path = dir.join("tokenizer_config.json");
    match crate::input_file::read_text(&path) {
        Ok(text) => crate::python_json::from_str(&text).map_err(|e| TokenizerError::File {
            path,
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Default::default())),
        Err(e) => Err(TokenizerError::File {
            path,
            message: e.to_string(),
        }),
    }
}

/// A special token named in tokenizer_config.json (a string or an AddedToken object).
fn config_token(config: &Value, key: &str) -> Option<String> {
    match config.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// `min(max_sequence_length, model_max_length)`, as the pipeline computes it; transformers
/// treats a missing model_max_length as unbounded.
fn max_length(config: &Value, max_sequence_length: usize) -> usize {
    let model_max = config
        .get("model_max_length")
        .and_then(Value::as_f64)
        .filter(|n| *n >= 1.0)
        .map_or(usize::MAX, |n| n.min(usize::MAX as f64) as usize);
    max_sequence_length.min(model_max)
}

fn read_tokenizer_json(dir: &Path) -> Result<(PathBuf, Value), TokenizerError> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(TokenizerError::NoTokenizerJson {
            dir: dir.to_path_buf(),
        });
    }
    let file_error = |message: String| TokenizerError::File {
        path: path.clone(),
        message,
    };
    let text = crate::input_file::read_text(&path).map_err(|e| file_error(e.to_string()))?;
    let json = serde_json::from_str(&text).map_err(|e| file_error(e.to_string()))?;
    Ok((path, json))
}

fn build(path: &Path, json: &Value) -> Result<Tokenizer, TokenizerError> {
    json.to_string()
        .parse::<Tokenizer>()
        .map_err(|e| TokenizerError::File {
            path: path.to_path_buf(),
            message: format!("not a tokenizer this toolkit can read: {e}"),
        })
}

fn token_id(tokenizer: &Tokenizer, token: &str, path: &Path) -> Result<u32, TokenizerError> {
    tokenizer
        .token_to_id(token)
        .ok_or_else(|| TokenizerError::File {
            path: path.to_path_buf(),
            message: format!("special token {token:?} is not in the vocabulary"),
        })
}

fn template(
    single: &str,
    specials: Vec<(String, u32)>,
    path: &Path,
) -> Result<TemplateProcessing, TokenizerError> {
    let pair = format!("{single} {}", single.replace("$A", "$B"));
    TemplateProcessing::builder()
        .try_single(single)
        .and_then(|b| b.try_pair(pair.as_str()))
        .map_err(|e| e.to_string())
        .and_then(|b| {
            b.special_tokens(specials)
                .build()
                .map_err(|e| e.to_string())
        })
        .map_err(|message| TokenizerError::File {
            path: path.to_path_buf(),
            message,
        })
}

impl SentenceTokenizer {
    /// tokenizer_3/ as transformers 5.x's `T5Tokenizer` loads it: the Unigram vocabulary
    /// of tokenizer.json with only its `Precompiled` normaliser kept, split on whitespace
    /// then Metaspace ("▁", always prepended), and `$A </s>` appended. transformers 4.x used
    /// the file's own pipeline instead; where a file's normaliser or pre-tokenizer differs
    /// from this rebuild the two disagree (the fixture's tokenizer.json is built to differ,
    /// so the tests pin the 5.x behaviour diffusers 0.42.1 runs with).
    pub fn t5(dir: &Path, max_sequence_length: usize) -> Result<Self, TokenizerError> {
        let (path, mut json) = read_tokenizer_json(dir)?;
        let precompiled = match json.get("normalizer") {
            Some(Value::Object(n)) if n.get("type").and_then(Value::as_str) == Some("Sequence") => {
                n.get("normalizers")
                    .and_then(Value::as_array)
                    .and_then(|all| all.iter().find(|n| n["type"] == "Precompiled").cloned())
            }
            Some(n) if n["type"] == "Precompiled" => Some(n.clone()),
            _ => None,
        };
        json["normalizer"] = precompiled.unwrap_or(Value::Null);
        let mut tokenizer = build(&path, &json)?;
        let config = tokenizer_config(dir)?;
        let eos_token = config_token(&config, "eos_token").unwrap_or_else(|| "</s>".into());
        let pad_token = config_token(&config, "pad_token").unwrap_or_else(|| "<pad>".into());
        let eos = token_id(&tokenizer, &eos_token, &path)?;
        let pad = token_id(&tokenizer, &pad_token, &path)?;
        tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(vec![
            WhitespaceSplit.into(),
            Metaspace::new('▁', PrependScheme::Always, true).into(),
        ])));
        tokenizer.with_post_processor(Some(template(
            &format!("$A {eos_token}"),
            vec![(eos_token.clone(), eos)],
            &path,
        )?));
        Ok(Self {
            tokenizer,
            pad,
            max_length: max_length(&config, max_sequence_length),
            dir: dir.to_path_buf(),
        })
    }

    /// The Llama folder's tokenizer.json as it is (its post-processor adds
    /// `<|begin_of_text|>`), padded with tokenizer_config.json's eos token. An explicit
    /// `add_bos_token` / `add_eos_token` in that file replaces the post-processor, as
    /// transformers does.
    pub fn llama(dir: &Path, max_sequence_length: usize) -> Result<Self, TokenizerError> {
        let (path, json) = read_tokenizer_json(dir)?;
        let mut tokenizer = build(&path, &json)?;
        let config = tokenizer_config(dir)?;
        let config_path = dir.join("tokenizer_config.json");
        let eos_token = config_token(&config, "eos_token").ok_or_else(|| TokenizerError::File {
            path: config_path.clone(),
            message: "no eos_token (HiDream pads Llama prompts with it)".into(),
        })?;
        let pad = token_id(&tokenizer, &eos_token, &path)?;
        let flag = |key: &str| config.get(key).and_then(Value::as_bool);
        if flag("add_bos_token").is_some() || flag("add_eos_token").is_some() {
            let mut single = Vec::new();
            let mut specials = Vec::new();
            for (key, add, after) in [
                ("bos_token", flag("add_bos_token"), false),
                ("eos_token", flag("add_eos_token"), true),
            ] {
                if add != Some(true) {
                    continue;
                }
                let Some(token) = config_token(&config, key) else {
                    continue;
                };
                specials.push((token.clone(), token_id(&tokenizer, &token, &path)?));
                single.push((after, token));
            }
            let before: Vec<&str> = single
                .iter()
                .filter(|(a, _)| !a)
                .map(|(_, t)| t.as_str())
                .collect();
            let after: Vec<&str> = single
                .iter()
                .filter(|(a, _)| *a)
                .map(|(_, t)| t.as_str())
                .collect();
            let single = [before, vec!["$A"], after].concat().join(" ");
            tokenizer.with_post_processor(Some(template(&single, specials, &config_path)?));
        }
        Ok(Self {
            tokenizer,
            pad,
            max_length: max_length(&config, max_sequence_length),
            dir: dir.to_path_buf(),
        })
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// Ids and mask as `tokenizer(text, padding="max_length", truncation=True,
    /// add_special_tokens=True)` returns them: the text is cut so that it and the special
    /// tokens fit, then padded on the right.
    pub fn encode(&self, text: &str) -> Result<Tokens, TokenizerError> {
        let encode_error = |e: tokenizers::Error| TokenizerError::Encode {
            what: self.dir.display().to_string(),
            message: e.to_string(),
        };
        let mut content = self.tokenizer.encode(text, false).map_err(encode_error)?;
        let specials = self
            .tokenizer
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        let needed = content.len() + specials;
        let truncated = if needed > self.max_length {
            let keep = self.max_length.saturating_sub(specials);
            let removed_ids = content.get_ids()[keep.min(content.len())..].to_vec();
            content.truncate(keep, 0, TruncationDirection::Right);
            Some(Truncation {
                needed,
                max_length: self.max_length,
                removed_text: self
                    .tokenizer
                    .decode(&removed_ids, false)
                    .map_err(encode_error)?,
            })
        } else {
            None
        };
        let full = self
            .tokenizer
            .post_process(content, None, true)
            .map_err(encode_error)?;
        Ok(Tokens::padded(
            full.get_ids().to_vec(),
            self.max_length,
            self.pad,
            truncated,
        ))
    }
}
