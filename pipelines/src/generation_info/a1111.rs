//! AUTOMATIC1111's infotext, as its `create_infotext` writes it and its
//! `parse_generation_parameters` (modules/infotext_utils.py) reads it back: the prompt
//! lines, then the negative prompt after `Negative prompt: `, then a last line of
//! `Key: value` pairs joined by `, `. The reader takes the last line as the pairs and
//! everything from the `Negative prompt:` line on as the negative prompt, so both prompts
//! may span lines; a value holding `,`, `:`, a quote or a line break is written as a JSON
//! string, which the reader unquotes.

use super::GenerationInfo;
use serde_json::Value;

pub(super) fn infotext(info: &GenerationInfo) -> String {
    let mut text = info.prompt.clone();
    if !info.negative_prompt.is_empty() {
        text.push_str("\nNegative prompt: ");
        text.push_str(&info.negative_prompt);
    }
    let mut pairs: Vec<(&str, String)> = vec![
        ("Steps", info.steps.to_string()),
        ("Sampler", info.sampler.clone()),
        ("CFG scale", info.cfg_scale.to_string()),
    ];
    if let Some(seed) = info.seed {
        pairs.push(("Seed", seed.to_string()));
    }
    pairs.push(("Size", format!("{}x{}", info.width, info.height)));
    pairs.push(("Model", info.model.clone()));
    for (key, value) in &info.extra {
        if let Some(value) = plain(value) {
            pairs.push((key, value));
        }
    }
    let line: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}: {}", quote(value)))
        .collect();
    text.push('\n');
    text.push_str(&line.join(", "));
    text
}

/// A JSON value as infotext shows it: strings bare, `null` left out.
fn plain(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A1111 quotes a value with `,`, `:` or a line break. A quote is added to the list since
/// a value that starts and ends with one would be unquoted on reading, and space at
/// either end since the reader trims it.
fn quote(value: &str) -> String {
    let needs_quotes = value.contains([',', ':', '\n', '\r', '"'])
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if needs_quotes {
        // A `str` always serialises; JSON keeps non-ASCII as is, as Python's
        // json.dumps(ensure_ascii=False) does.
        serde_json::to_string(value).unwrap_or_default()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info() -> GenerationInfo {
        GenerationInfo {
            prompt: "a cat".into(),
            negative_prompt: String::new(),
            steps: 25,
            sampler: "DPM++ 2M".into(),
            cfg_scale: 7.5,
            seed: Some(42),
            width: 512,
            height: 512,
            model: "sd21".into(),
            extra: Vec::new(),
        }
    }

    #[test]
    fn writes_the_documented_layout() {
        let mut i = info();
        i.negative_prompt = "blurry".into();
        assert_eq!(
            i.to_a1111(),
            "a cat\nNegative prompt: blurry\nSteps: 25, Sampler: DPM++ 2M, CFG scale: 7.5, \
             Seed: 42, Size: 512x512, Model: sd21"
        );
    }

    #[test]
    fn no_negative_line_without_a_negative_prompt_and_no_seed_without_one() {
        let mut i = info();
        i.seed = None;
        let i = i.with("Latents", "given").with("Unset", Value::Null);
        assert_eq!(
            i.to_a1111(),
            "a cat\nSteps: 25, Sampler: DPM++ 2M, CFG scale: 7.5, Size: 512x512, Model: sd21, \
             Latents: given"
        );
    }

    #[test]
    fn values_with_separators_quotes_or_edge_spaces_are_json_strings() {
        let i = info()
            .with("Init image", "C:\\in, 1.png")
            .with("Note", "say \"hi\"")
            .with("Pad", " x")
            .with("Strength", json!(0.5))
            .with("Flag", true);
        let text = i.to_a1111();
        let last = text.lines().last().expect("a line");
        assert!(
            last.ends_with(
                r#"Init image: "C:\\in, 1.png", Note: "say \"hi\"", Pad: " x", Strength: 0.5, Flag: true"#
            ),
            "{last}"
        );
    }

    #[test]
    fn json_holds_every_field_and_the_extras() {
        let i = info().with("Shift", 3.0).with("Gone", Value::Null);
        let v = i.to_json();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["prompt"], "a cat");
        assert_eq!(v["negative_prompt"], "");
        assert_eq!(v["steps"], 25);
        assert_eq!(v["sampler"], "DPM++ 2M");
        assert_eq!(v["cfg_scale"], 7.5);
        assert_eq!(v["seed"], 42);
        assert_eq!(
            (v["width"].clone(), v["height"].clone()),
            (json!(512), json!(512))
        );
        assert_eq!(v["model"], "sd21");
        assert_eq!(v["extra"], json!({"Shift": 3.0}));
    }
}
