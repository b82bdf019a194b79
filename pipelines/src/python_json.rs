//! JSON as Python's `json` module writes it. `json.dump` writes non-finite floats as the
//! bare words `NaN`, `Infinity` and `-Infinity` (diffusers' `save_config` does so for
//! `lambda_min_clipped: -inf`), which strict JSON readers, serde_json included, refuse.
//! Strict JSON goes straight to serde_json; a text with those words has them replaced by
//! marker strings, is parsed into a `Value`, and is deserialised through a view that hands
//! each marker to the visitor as the float it stands for.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde_json::Value;

/// Marker strings: a NUL cannot appear unescaped in JSON text and no real config value
/// starts with one.
const MARKERS: [(&str, f64); 3] = [
    ("\u{0}py:-Infinity", f64::NEG_INFINITY),
    ("\u{0}py:Infinity", f64::INFINITY),
    ("\u{0}py:NaN", f64::NAN),
];

/// Parses `text` into `T`, accepting Python's non-finite float words where a value goes.
pub fn from_str<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(strict) => match replace_python_words(text) {
            // Only a text that used the words takes the slower path; otherwise serde_json's
            // error (with its line and column) stands.
            Some(marked) => {
                let value: Value = serde_json::from_str(&marked)?;
                T::deserialize(PyValue(&value))
            }
            None => Err(strict),
        },
    }
}

/// `text` with each bare `NaN`, `Infinity` or `-Infinity` outside strings replaced by
/// its marker string; `None` when there is none.
fn replace_python_words(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let (mut in_string, mut escaped, mut replaced) = (false, false, false);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let word = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|w| bytes[i..].starts_with(w.as_bytes()));
        if let Some(word) = word {
            let end = i + word.len();
            let ends_token = bytes
                .get(end)
                .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b',' | b']' | b'}'));
            if ends_token {
                out.push_str(&text[copied..i]);
                out.push_str(&format!("\"\\u0000py:{word}\""));
                copied = end;
                replaced = true;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    if !replaced {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

fn marker_value(s: &str) -> Option<f64> {
    MARKERS.iter().find(|(m, _)| *m == s).map(|(_, v)| *v)
}

/// A parsed value whose marker strings deserialise as the floats they stand for.
#[derive(Clone, Copy)]
struct PyValue<'a>(&'a Value);

impl<'de, 'a> IntoDeserializer<'de, serde_json::Error> for PyValue<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de, 'a> Deserializer<'de> for PyValue<'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::String(s) => match marker_value(s) {
                Some(f) => visitor.visit_f64(f),
                None => visitor.visit_str(s),
            },
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(PyValue));
                let v = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(v)
            }
            Value::Object(map) => {
                let mut entries =
                    MapDeserializer::new(map.iter().map(|(k, v)| (k.as_str(), PyValue(v))));
                let v = visitor.visit_map(&mut entries)?;
                entries.end()?;
                Ok(v)
            }
            // Null, booleans and finite numbers have nothing to translate.
            other => other.clone().deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        // Enums in configs are plain strings or objects without non-finite floats.
        self.0.clone().deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Config {
        lambda_min_clipped: f64,
        upper: f32,
        maybe: Option<f64>,
        name: String,
        list: Vec<f64>,
        #[serde(default)]
        steps: usize,
    }

    #[test]
    fn what_pythons_json_dump_writes_is_read() {
        // As `json.dumps({"lambda_min_clipped": float("-inf"), ...}, indent=2)` writes it.
        let text = r#"{
  "lambda_min_clipped": -Infinity,
  "upper": Infinity,
  "maybe": NaN,
  "name": "NaN, Infinity and -Infinity inside a string stay text 一只猫",
  "list": [1.5, -Infinity,NaN],
  "steps": 25
}"#;
        let c: Config = from_str(text).expect("parses");
        assert_eq!(c.lambda_min_clipped, f64::NEG_INFINITY);
        assert_eq!(c.upper, f32::INFINITY);
        assert!(c.maybe.is_some_and(f64::is_nan));
        assert_eq!(
            c.name,
            "NaN, Infinity and -Infinity inside a string stay text 一只猫"
        );
        assert_eq!(c.list[..2], [1.5, f64::NEG_INFINITY]);
        assert!(c.list[2].is_nan());
        assert_eq!(c.steps, 25);
    }

    #[test]
    fn words_are_still_refused_where_a_number_does_not_fit() {
        let text =
            r#"{"lambda_min_clipped": 0, "upper": 1, "maybe": null, "name": NaN, "list": []}"#;
        assert!(from_str::<Config>(text).is_err());
        let text = r#"{"lambda_min_clipped": 0, "upper": 1, "maybe": null, "name": "x", "list": [], "steps": Infinity}"#;
        assert!(from_str::<Config>(text).is_err());
    }

    #[test]
    fn strict_json_errors_keep_their_position() {
        let err = from_str::<Config>("{\n  \"upper\": }").unwrap_err();
        assert_eq!(err.line(), 2);
        // A word that merely starts like one is not replaced.
        assert!(replace_python_words(r#"{"a": NaNa}"#).is_none());
    }
}
