//! AUTOMATIC1111's infotext, as its `create_infotext` writes it and its
//! `parse_generation_parameters` (modules/infotext_utils.py) reads it back: the prompt
//! lines, then the negative prompt after `Negative prompt: `, then a last line of
//! `Key: value` pairs joined by `, `. The reader takes the last line as the pairs and
//! everything from the `Negative prompt:` line on as the negative prompt, so both prompts
//! may span lines; a value holding `,`, `:`, a quote or a line break is written as a JSON
//! string, which the reader unquotes.

/// The infotext of `prompt`, `negative_prompt` (its line left out when empty, as A1111
/// does) and the settings `pairs`, in order.
pub(super) fn infotext(prompt: &str, negative_prompt: &str, pairs: &[(&str, String)]) -> String {
    let mut text = prompt.to_string();
    if !negative_prompt.is_empty() {
        text.push_str("\nNegative prompt: ");
        text.push_str(negative_prompt);
    }
    let line: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}: {}", quote(value)))
        .collect();
    text.push('\n');
    text.push_str(&line.join(", "));
    text
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
    use super::infotext;

    fn pairs(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        list.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn writes_the_documented_layout() {
        let settings = pairs(&[("Steps", "25"), ("Sampler", "DPM++ 2M"), ("Seed", "42")]);
        assert_eq!(
            infotext("a cat", "blurry", &settings),
            "a cat\nNegative prompt: blurry\nSteps: 25, Sampler: DPM++ 2M, Seed: 42"
        );
        assert_eq!(
            infotext("a cat", "", &settings),
            "a cat\nSteps: 25, Sampler: DPM++ 2M, Seed: 42"
        );
    }

    #[test]
    fn values_with_separators_quotes_or_edge_spaces_are_json_strings() {
        let settings = pairs(&[
            ("Init image", "C:\\in, 1.png"),
            ("Note", "say \"hi\""),
            ("Pad", " x"),
            ("Lines", "a\nb"),
            ("Plain", "DPM++ 2M"),
        ]);
        let text = infotext("p", "", &settings);
        assert_eq!(
            text.lines().last().expect("a line"),
            r#"Init image: "C:\\in, 1.png", Note: "say \"hi\"", Pad: " x", Lines: "a\nb", Plain: DPM++ 2M"#
        );
    }
}
