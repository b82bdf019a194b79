//! CLIP's byte-level BPE tokenizer through the `tokenizers` crate, called as the SD and
//! HiDream pipelines call transformers' CLIPTokenizer (`padding="max_length",
//! truncation=True`).
//!
//! A folder's tokenizer.json is used as it is, as transformers does when the file is there
//! (5.x saves nothing else); a folder with only vocab.json + merges.txt gets the normaliser,
//! pre-tokeniser and decoder transformers 5.x's CLIPTokenizer builds for those files. Either
//! way the special tokens named in tokenizer_config.json are registered as transformers
//! registers them, so SD 2.x's pad token "!" typed in a prompt is id 0, not the BPE `!</w>`.

use crate::error::ModelError;
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::replace::{Replace, ReplacePattern};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::normalizers::utils::{Lowercase, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

const START: &str = "<|startoftext|>";
const END: &str = "<|endoftext|>";
/// What BPE appends to the last piece of a word; decoding turns it back into a space.
const END_OF_WORD: &str = "</w>";
/// CLIP's split: typed start/end tokens, English contractions, letter runs, single digits,
/// and runs of anything else that is not a space.
const SPLIT_PATTERN: &str =
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

#[derive(Clone)]
pub struct ClipTokenizer {
    inner: Tokenizer,
    bos: u32,
    eos: u32,
    pad: u32,
    max_length: usize,
}

impl std::fmt::Debug for ClipTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipTokenizer")
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("pad", &self.pad)
            .field("max_length", &self.max_length)
            .finish_non_exhaustive()
    }
}

/// Tokens for one prompt, and whether it had to be cut to fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    pub ids: Vec<u32>,
    pub truncated: bool,
    /// How many leading ids are real tokens (start, text, end); the rest is padding.
    pub length: usize,
    /// The text tokens cut off to fit, for truncation warnings.
    pub removed: Vec<u32>,
}

/// A special token as tokenizer_config.json names it: a string, or an object with `content`.
fn token_name(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(m) => m
            .get("content")
            .and_then(|c| c.as_str())
            .map(str::to_string),
        _ => None,
    }
}

/// transformers 5.x's CLIP pipeline around a BPE read from vocab.json + merges.txt.
fn from_vocab_and_merges(vocab: &str, merges: &str, unk: &str) -> Result<Tokenizer, String> {
    let vocab: Vocab = serde_json::from_str(vocab).map_err(|e| format!("vocab.json: {e}"))?;
    let merges = merges
        .lines()
        .filter(|l| !l.starts_with("#version") && !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("merges.txt: merge {i} is not a pair: {l:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .unk_token(unk.to_string())
        .continuing_subword_prefix(String::new())
        .end_of_word_suffix(END_OF_WORD.to_string())
        .build()
        .map_err(|e| format!("vocab.json/merges.txt: {e}"))?;
    let whitespace_runs = Replace::new(ReplacePattern::Regex(r"\s+".into()), " ")
        .map_err(|e| format!("normaliser: {e}"))?;
    let split = Split::new(
        SplitPattern::Regex(SPLIT_PATTERN.into()),
        SplitDelimiterBehavior::Removed,
        true,
    )
    .map_err(|e| format!("pre-tokeniser: {e}"))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_normalizer(Some(NormalizerSequence::new(vec![
            NFC.into(),
            whitespace_runs.into(),
            Lowercase.into(),
        ])))
        .map_err(|e| format!("normaliser: {e}"))?;
    tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(vec![
        split.into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    Ok(tokenizer)
}

/// The folder's tokenizer, from tokenizer.json when there is one.
fn load(dir: &Path, unk: &str) -> Result<Tokenizer, ModelError> {
    let read = |name: &str| {
        let path = dir.join(name);
        crate::input_file::read_text(&path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))
    };
    let in_dir = |message: String| ModelError::Tokenizer(format!("{}: {message}", dir.display()));
    if dir.join("tokenizer.json").exists() {
        let text = read("tokenizer.json")?;
        return text
            .parse::<Tokenizer>()
            .map_err(|e| in_dir(format!("tokenizer.json: {e}")));
    }
    if dir.join("vocab.json").exists() {
        return from_vocab_and_merges(&read("vocab.json")?, &read("merges.txt")?, unk)
            .map_err(in_dir);
    }
    Err(in_dir(NO_LAYOUT.into()))
}

const NO_LAYOUT: &str = "neither tokenizer.json nor vocab.json with merges.txt";

/// Why `dir` cannot hold a CLIP tokenizer, checked from the file names alone (so a
/// pipeline can refuse a folder before loading anything); `None` when one layout is there.
pub fn missing_layout(dir: &Path) -> Option<&'static str> {
    let has = |name: &str| dir.join(name).is_file();
    let complete = has("tokenizer.json") || (has("vocab.json") && has("merges.txt"));
    (!complete).then_some(NO_LAYOUT)
}

impl ClipTokenizer {
    pub fn from_dir(dir: &Path) -> Result<Self, ModelError> {
        let config_path = dir.join("tokenizer_config.json");
        let config: serde_json::Value = if config_path.exists() {
            let text = crate::input_file::read_text(&config_path)
                .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", config_path.display())))?;
            crate::python_json::from_str(&text)
                .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", config_path.display())))?
        } else {
            serde_json::Value::Null
        };
        let name = |key: &str, default: &str| {
            config
                .get(key)
                .and_then(token_name)
                .unwrap_or_else(|| default.to_string())
        };
        let names = [
            ("bos_token", name("bos_token", START)),
            ("eos_token", name("eos_token", END)),
            ("pad_token", name("pad_token", END)),
            ("unk_token", name("unk_token", END)),
        ];
        let mut inner = load(dir, &names[3].1)?;
        // Truncation and padding are done below, the way the pipelines ask for them.
        inner
            .with_truncation(None)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", dir.display())))?;
        inner.with_padding(None);
        inner.with_post_processor(None::<tokenizers::PostProcessorWrapper>);
        let mut ids = [0u32; 4];
        for (slot, (key, token)) in ids.iter_mut().zip(&names) {
            *slot = inner.token_to_id(token).ok_or_else(|| {
                ModelError::Tokenizer(format!(
                    "{}: {key} {token:?} is not in the vocabulary",
                    dir.display()
                ))
            })?;
        }
        inner
            .add_special_tokens(
                names
                    .iter()
                    .map(|(_, token)| AddedToken::from(token.clone(), true)),
            )
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", dir.display())))?;
        let max_length = config
            .get("model_max_length")
            .and_then(|v| v.as_u64())
            .filter(|n| (2..=1 << 20).contains(n))
            .unwrap_or(77) as usize;
        Ok(Self {
            inner,
            bos: ids[0],
            eos: ids[1],
            pad: ids[2],
            max_length,
        })
    }

    /// The same tokenizer padding and truncating to `max_length` tokens instead of the
    /// folder's `model_max_length` (HiDream asks for 128 whatever the file says).
    pub fn with_max_length(mut self, max_length: usize) -> Self {
        // Room for the start and end tokens.
        self.max_length = max_length.max(2);
        self
    }

    /// Token ids back to text as transformers' `decode` writes it: word ends become
    /// spaces, special tokens stay.
    pub fn decode(&self, ids: &[u32]) -> String {
        match self.inner.decode(ids, false) {
            Ok(text) => text.replace(END_OF_WORD, " ").trim().to_string(),
            // Only ever used for messages: say what could not be shown rather than fail.
            Err(_) => format!("{ids:?}"),
        }
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// `[bos] + tokens + [eos]`, cut to `max_length` and padded with the pad token.
    pub fn encode(&self, text: &str) -> Result<Encoding, ModelError> {
        let encoded = self
            .inner
            .encode(text, false)
            .map_err(|e| ModelError::Tokenizer(format!("tokenizing {text:?}: {e}")))?;
        let mut ids = Vec::with_capacity(self.max_length);
        ids.push(self.bos);
        ids.extend_from_slice(encoded.get_ids());
        let budget = self.max_length - 1;
        let truncated = ids.len() > budget;
        let removed = ids.split_off(budget.min(ids.len()));
        ids.push(self.eos);
        let length = ids.len();
        ids.resize(self.max_length, self.pad);
        Ok(Encoding {
            ids,
            truncated,
            length,
            removed,
        })
    }
}
