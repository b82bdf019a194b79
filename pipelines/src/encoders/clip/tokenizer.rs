//! CLIP byte-level BPE tokenizer read from a tokenizer folder (vocab.json, merges.txt,
//! tokenizer_config.json), reproducing transformers' CLIPTokenizer with
//! `padding="max_length", truncation=True` as the SD pipelines call it.

use crate::error::ModelError;
use std::collections::HashMap;
use std::path::Path;

const START: &str = "<|startoftext|>";
const END: &str = "<|endoftext|>";

#[derive(Debug, Clone)]
pub struct ClipTokenizer {
    vocab: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
    byte_chars: Vec<char>,
    bos: u32,
    eos: u32,
    pad: u32,
    max_length: usize,
    /// Special-token strings, longest first. transformers cuts these out of the raw text
    /// before normalising, so SD 2.x's pad token "!" typed in a prompt becomes id 0 rather
    /// than the BPE token `"!</w>"`.
    specials: Vec<(String, u32)>,
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

/// GPT-2's reversible byte-to-unicode table that CLIP's vocabulary is written in.
fn bytes_to_unicode() -> Vec<char> {
    let mut printable: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut table = vec!['\0'; 256];
    for &b in &printable {
        table[b as usize] = char::from_u32(b).unwrap_or('\0');
    }
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            table[b as usize] = char::from_u32(256 + extra).unwrap_or('\0');
            extra += 1;
            printable.push(b);
        }
    }
    table
}

type Ranks = HashMap<(String, String), usize>;

/// The vocabulary and merge ranks of a fast tokenizer's `tokenizer.json` (merges written
/// as `"a b"` strings by older tokenizers, as `["a", "b"]` pairs by newer ones).
fn from_tokenizer_json(text: &str) -> Result<(HashMap<String, u32>, Ranks), ModelError> {
    let err = |m: String| ModelError::Tokenizer(format!("tokenizer.json: {m}"));
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    let model = &json["model"];
    if model["type"] != "BPE" {
        return Err(err(format!(
            "model type {} is not the BPE a CLIP tokenizer uses",
            model["type"]
        )));
    }
    let vocab: HashMap<String, u32> =
        serde_json::from_value(model["vocab"].clone()).map_err(|e| err(format!("vocab: {e}")))?;
    let merges = model["merges"]
        .as_array()
        .ok_or_else(|| err("no merges list".into()))?;
    let mut ranks = HashMap::with_capacity(merges.len());
    for (rank, merge) in merges.iter().enumerate() {
        let pair = match merge {
            serde_json::Value::String(s) => s
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string())),
            serde_json::Value::Array(p) => match (p.first(), p.get(1), p.len()) {
                (Some(serde_json::Value::String(a)), Some(serde_json::Value::String(b)), 2) => {
                    Some((a.clone(), b.clone()))
                }
                _ => None,
            },
            _ => None,
        };
        let pair = pair.ok_or_else(|| err(format!("merge {rank} is not a pair: {merge}")))?;
        ranks.entry(pair).or_insert(rank);
    }
    Ok((vocab, ranks))
}

impl ClipTokenizer {
    pub fn from_dir(dir: &Path) -> Result<Self, ModelError> {
        let read = |name: &str| {
            crate::input_file::read_text(&dir.join(name))
                .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", dir.join(name).display())))
        };
        let (vocab, ranks) = if dir.join("vocab.json").exists() {
            let vocab: HashMap<String, u32> = serde_json::from_str(&read("vocab.json")?)
                .map_err(|e| ModelError::Tokenizer(format!("vocab.json: {e}")))?;
            let ranks = read("merges.txt")?
                .lines()
                .filter(|l| !l.starts_with("#version") && !l.trim().is_empty())
                .enumerate()
                .filter_map(|(i, l)| {
                    let (a, b) = l.split_once(' ')?;
                    Some(((a.to_string(), b.to_string()), i))
                })
                .collect();
            (vocab, ranks)
        } else if dir.join("tokenizer.json").exists() {
            // Folders saved by transformers 5 have only the fast tokenizer's file; its BPE
            // model holds the same vocabulary and merge list.
            from_tokenizer_json(&read("tokenizer.json")?)?
        } else {
            return Err(ModelError::Tokenizer(format!(
                "{}: neither vocab.json with merges.txt nor tokenizer.json",
                dir.display()
            )));
        };
        let config: serde_json::Value = match read("tokenizer_config.json") {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| ModelError::Tokenizer(format!("tokenizer_config.json: {e}")))?,
            Err(_) => serde_json::Value::Null,
        };
        let mut specials = Vec::new();
        let mut lookup = |key: &str, default: &str| -> Result<u32, ModelError> {
            let name = config
                .get(key)
                .and_then(token_name)
                .unwrap_or_else(|| default.to_string());
            let id = vocab.get(&name).copied().ok_or_else(|| {
                ModelError::Tokenizer(format!("{key} {name:?} is not in vocab.json"))
            })?;
            specials.push((name, id));
            Ok(id)
        };
        let max_length = config
            .get("model_max_length")
            .and_then(|v| v.as_u64())
            .filter(|n| (2..=1 << 20).contains(n))
            .unwrap_or(77) as usize;
        let bos = lookup("bos_token", START)?;
        let eos = lookup("eos_token", END)?;
        let pad = lookup("pad_token", END)?;
        lookup("unk_token", END)?;
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        specials.dedup();
        Ok(Self {
            bos,
            eos,
            pad,
            specials,
            vocab,
            ranks,
            byte_chars: bytes_to_unicode(),
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
        let by_id: HashMap<u32, &str> = self.vocab.iter().map(|(t, i)| (*i, t.as_str())).collect();
        let text: String = ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
        let bytes: Vec<u8> = text
            .replace("</w>", " ")
            .chars()
            .flat_map(|c| match self.byte_chars.iter().position(|&b| b == c) {
                Some(byte) => vec![byte as u8],
                None => c.to_string().into_bytes(),
            })
            .collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// `[bos] + tokens + [eos]`, cut to `max_length` and padded with the pad token.
    pub fn encode(&self, text: &str) -> Encoding {
        let mut ids = vec![self.bos];
        let mut rest = text;
        while !rest.is_empty() {
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| rest.find(s.as_str()).map(|at| (at, s.len(), *id)))
                .min_by_key(|(at, len, _)| (*at, usize::MAX - len));
            let (plain, special) = match next {
                Some((at, len, id)) => (&rest[..at], Some((id, at + len))),
                None => (rest, None),
            };
            for word in pre_tokenize(&normalize(plain)) {
                ids.extend(self.bpe(&word));
            }
            match special {
                Some((id, end)) => {
                    ids.push(id);
                    rest = &rest[end..];
                }
                None => break,
            }
        }
        let budget = self.max_length - 1;
        let truncated = ids.len() > budget;
        let removed = ids.split_off(budget.min(ids.len()));
        ids.push(self.eos);
        let length = ids.len();
        ids.resize(self.max_length, self.pad);
        Encoding {
            ids,
            truncated,
            length,
            removed,
        }
    }

    fn bpe(&self, word: &str) -> Vec<u32> {
        let mut parts: Vec<String> = word
            .bytes()
            .map(|b| self.byte_chars[b as usize].to_string())
            .collect();
        if let Some(last) = parts.last_mut() {
            last.push_str("</w>");
        }
        loop {
            let best = parts
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| {
                    self.ranks
                        .get(&(w[0].clone(), w[1].clone()))
                        .map(|r| (*r, i))
                })
                .min();
            let Some((_, i)) = best else { break };
            let pair = (parts[i].clone(), parts[i + 1].clone());
            // Merge every occurrence of the best pair, left to right, as BPE does.
            let mut merged = Vec::with_capacity(parts.len());
            let mut j = 0;
            while j < parts.len() {
                if j + 1 < parts.len() && parts[j] == pair.0 && parts[j + 1] == pair.1 {
                    merged.push(format!("{}{}", pair.0, pair.1));
                    j += 2;
                } else {
                    merged.push(parts[j].clone());
                    j += 1;
                }
            }
            parts = merged;
        }
        parts
            .iter()
            .map(|p| self.vocab.get(p).copied().unwrap_or(self.eos))
            .collect()
    }
}

/// CLIP's normaliser: collapse whitespace runs, trim, lowercase.
fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// CLIP's split pattern: special tokens, English contractions, letter runs, single
/// digits, and runs of other non-space characters.
fn pre_tokenize(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let rest = |i: usize| chars[i..].iter().collect::<String>();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tail = rest(i);
        let contraction = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
            .into_iter()
            .find(|s| tail.starts_with(s));
        if let Some(suffix) = contraction {
            out.push(suffix.to_string());
            i += suffix.len();
            continue;
        }
        let start = i;
        if c.is_alphabetic() {
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
        } else if c.is_numeric() {
            i += 1;
        } else {
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !chars[i].is_alphabetic()
                && !chars[i].is_numeric()
            {
                i += 1;
            }
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}
