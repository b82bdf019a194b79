//! The infotext read back the way AUTOMATIC1111 reads it. The reader below follows A1111's
//! documented rules (modules/infotext_utils.py, parse_generation_parameters): the last line
//! holds `Key: value` pairs separated by `,`, a value in double quotes is a JSON string;
//! the lines before it are the prompt until one starts with `Negative prompt:`, and from
//! there on the negative prompt.

use pipelines::generation_info::{GenerationInfo, JSON_KEYWORD, PARAMETERS_KEYWORD};
use serde_json::json;
use std::collections::BTreeMap;

struct Parsed {
    prompt: String,
    negative_prompt: String,
    pairs: BTreeMap<String, String>,
}

/// `Key: value, Key: "quoted, value", ...`; keys start with a word character.
fn parse_pairs(line: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        let Some(colon) = rest.find(':') else { break };
        let key = rest[..colon].to_string();
        rest = rest[colon + 1..].trim_start();
        let value = if rest.starts_with('"') {
            // The closing quote is the first one not escaped by a backslash.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            let quoted = &rest[..=i];
            rest = &rest[i + 1..];
            serde_json::from_str::<String>(quoted).expect("a JSON string")
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let value = rest[..end].to_string();
            rest = &rest[end..];
            value
        };
        pairs.insert(key, value);
        rest = rest.trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after,
            None => break,
        }
    }
    pairs
}

fn parse(text: &str) -> Parsed {
    let mut lines: Vec<&str> = text.trim().split('\n').collect();
    let last = lines.pop().expect("a line");
    let (mut prompt, mut negative) = (Vec::new(), Vec::new());
    let mut in_negative = false;
    for line in lines {
        let line = line.trim();
        let line = match line.strip_prefix("Negative prompt:") {
            Some(after) => {
                in_negative = true;
                after.trim()
            }
            None => line,
        };
        if in_negative {
            negative.push(line);
        } else {
            prompt.push(line);
        }
    }
    Parsed {
        prompt: prompt.join("\n"),
        negative_prompt: negative.join("\n"),
        pairs: parse_pairs(last),
    }
}

fn info(prompt: &str, negative: &str) -> GenerationInfo {
    GenerationInfo {
        prompt: prompt.into(),
        negative_prompt: negative.into(),
        steps: 25,
        sampler: "DPM++ 2M".into(),
        cfg_scale: 7.5,
        seed: Some(42),
        width: 512,
        height: 768,
        model: "/models/stable-diffusion-2-1-base".into(),
        extra: Vec::new(),
    }
    .with("Dtype", "bf16")
    .with("Init image", "in, \"best\": 1.png")
    .with("Denoising strength", 0.8)
    .with("Accelerations", "tome_0.5+deepcache_3")
}

#[test]
fn every_field_comes_back_through_an_a1111_reader() {
    let prompt = "a red bird, (detailed:1.2)\non a branch: morning";
    let negative = "blurry, lowres\nwatermark";
    let parsed = parse(&info(prompt, negative).to_a1111());
    assert_eq!(parsed.prompt, prompt);
    assert_eq!(parsed.negative_prompt, negative);
    let want: BTreeMap<String, String> = [
        ("Steps", "25"),
        ("Sampler", "DPM++ 2M"),
        ("CFG scale", "7.5"),
        ("Seed", "42"),
        ("Size", "512x768"),
        ("Model", "/models/stable-diffusion-2-1-base"),
        ("Dtype", "bf16"),
        ("Init image", "in, \"best\": 1.png"),
        ("Denoising strength", "0.8"),
        ("Accelerations", "tome_0.5+deepcache_3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(parsed.pairs, want);
}

#[test]
fn chinese_emoji_and_right_to_left_prompts_round_trip_through_a_png() {
    let prompt = "一只猫 🐈‍⬛ قطة على غصن\nחתול שחור, 夜";
    let negative = "模糊 😵 ضبابي";
    let written = info(prompt, negative);
    let mut png = Vec::new();
    pipelines::image::encode_png(&mut png, 2, 2, &[0; 12], &written.png_text()).expect("encode");
    let reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("decode");
    let text = |keyword: &str| {
        reader
            .info()
            .utf8_text
            .iter()
            .find(|t| t.keyword == keyword)
            .unwrap_or_else(|| panic!("no iTXt {keyword}"))
            .get_text()
            .expect("utf8")
    };
    let parsed = parse(&text(PARAMETERS_KEYWORD));
    assert_eq!(parsed.prompt, prompt);
    assert_eq!(parsed.negative_prompt, negative);
    assert_eq!(parsed.pairs["Seed"], "42");
    let json: serde_json::Value = serde_json::from_str(&text(JSON_KEYWORD)).expect("json");
    assert_eq!(json["prompt"], prompt);
    assert_eq!(json["negative_prompt"], negative);
    assert_eq!(json["extra"]["Denoising strength"], json!(0.8));
}

#[test]
fn latin1_text_goes_in_text_chunks() {
    let mut png = Vec::new();
    let written = info("café au lait", "");
    pipelines::image::encode_png(&mut png, 1, 1, &[0; 3], &written.png_text()).expect("encode");
    let reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("decode");
    let chunks = &reader.info().uncompressed_latin1_text;
    let parameters = chunks
        .iter()
        .find(|t| t.keyword == PARAMETERS_KEYWORD)
        .expect("tEXt parameters");
    assert_eq!(parse(&parameters.text).prompt, "café au lait");
    assert!(chunks.iter().any(|t| t.keyword == JSON_KEYWORD));
}
