//! The common HiDream-E1 edits as recipes: each turns a few words from the user into the
//! instruction sentence the model was trained on, with the image-guidance strength the
//! HiDream-E1 authors recommend for that kind of edit.
//!
//! Source of the phrasings and numbers: the HiDream-E1 project's README and Gradio demo
//! (examples "convert the image into a Ghibli style", "add butterfly", "remove the wooden
//! sign", "change the background to a sunset"; "for style changes use higher image
//! preservation strength (3.0-4.0), for local edits like adding, deleting, replacing
//! elements lower (2.0-3.0)"; its examples use 4 and 2).

/// Instruction-following strength (`guidance_scale`) the E1 scripts use for every edit.
pub const GUIDANCE: f64 = 5.0;
/// Steps of the E1-Full scripts.
pub const STEPS: usize = 28;
/// The seed of the E1 scripts' examples.
pub const SEED: u64 = 3;
/// Share of the steps run on the I1-Full weights when a refine model is given.
pub const REFINE_STRENGTH: f64 = 0.3;
/// Image preservation strength for whole-image (style) edits.
const STYLE_IMAGE_GUIDANCE: f64 = 4.0;
/// Image preservation strength for local edits (add, remove, recolour, background).
const LOCAL_IMAGE_GUIDANCE: f64 = 2.0;

/// One edit, as the user asked for it.
#[derive(Debug, Clone, PartialEq)]
pub enum EditRecipe {
    /// Restyle the whole image: "watercolor", "Ghibli", "pencil sketch".
    Style(String),
    /// Put something new into the picture: "a red hat on the dog".
    Add(String),
    /// Take something out: "the car".
    Remove(String),
    /// Recolour one thing: `Color { target: "the car", color: "red" }`.
    Color { target: String, color: String },
    /// Replace what is behind the subject: "a sunset beach".
    Background(String),
    /// Any other instruction, used as written.
    Instruction(String),
}

impl EditRecipe {
    /// The editing instruction, without a final full stop (the prompt template adds it).
    pub fn instruction(&self) -> String {
        let text = match self {
            Self::Style(style) => format!("Convert the image into a {} style", trim(style)),
            Self::Add(thing) => format!("Add {}", trim(thing)),
            Self::Remove(thing) => format!("Remove {}", trim(thing)),
            Self::Color { target, color } => {
                format!("Change the color of {} to {}", trim(target), trim(color))
            }
            Self::Background(background) => {
                format!("Change the background to {}", trim(background))
            }
            Self::Instruction(text) => trim(text).to_string(),
        };
        text.trim_end_matches('.').to_string()
    }

    /// How strongly the source image is preserved with E1-Full (E1.1's script has its own
    /// single value): high for style transfer, which must keep the layout everywhere, low
    /// for local edits, which must be free to change a part.
    pub fn image_guidance(&self) -> f64 {
        match self {
            Self::Style(_) => STYLE_IMAGE_GUIDANCE,
            Self::Instruction(text) if looks_like_style(text) => STYLE_IMAGE_GUIDANCE,
            _ => LOCAL_IMAGE_GUIDANCE,
        }
    }

    /// A short name for progress lines and JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Style(_) => "style",
            Self::Add(_) => "add",
            Self::Remove(_) => "remove",
            Self::Color { .. } => "color",
            Self::Background(_) => "background",
            Self::Instruction(_) => "instruction",
        }
    }

    /// The words the user gave, empty ones being a mistake worth reporting with the flag.
    pub fn check(&self) -> Result<(), EmptyWords> {
        let empty = |flag: &'static str, value: &str| {
            if value.trim().is_empty() {
                Err(EmptyWords { flag })
            } else {
                Ok(())
            }
        };
        match self {
            Self::Style(v) => empty("--style", v),
            Self::Add(v) => empty("--add", v),
            Self::Remove(v) => empty("--remove", v),
            Self::Color { target, color } => {
                empty("--color", target)?;
                empty("--to", color)
            }
            Self::Background(v) => empty("--background", v),
            Self::Instruction(v) => empty("--instruction", v),
        }
    }
}

/// An edit flag given without words; names the flag, as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyWords {
    pub flag: &'static str,
}

impl std::fmt::Display for EmptyWords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} needs some words describing the edit", self.flag)
    }
}

impl std::error::Error for EmptyWords {}

fn trim(text: &str) -> &str {
    text.trim()
}

/// Free-form instructions that restyle the whole image get the style strength too, as the
/// E1 demo's "turn to sketch style" and "change the image into Disney Pixar style" do.
fn looks_like_style(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains(" style") || lower.starts_with("convert the image into")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_read_like_the_e1_examples() {
        let cases = [
            (
                EditRecipe::Style("Ghibli".into()),
                "Convert the image into a Ghibli style",
            ),
            (EditRecipe::Add(" butterfly ".into()), "Add butterfly"),
            (
                EditRecipe::Remove("the wooden sign".into()),
                "Remove the wooden sign",
            ),
            (
                EditRecipe::Color {
                    target: "the car".into(),
                    color: "red".into(),
                },
                "Change the color of the car to red",
            ),
            (
                EditRecipe::Background("a sunset".into()),
                "Change the background to a sunset",
            ),
            (
                EditRecipe::Instruction("make it snow.".into()),
                "make it snow",
            ),
        ];
        for (recipe, want) in cases {
            assert_eq!(recipe.instruction(), want, "{}", recipe.kind());
        }
    }

    #[test]
    fn style_edits_preserve_the_image_more_than_local_edits() {
        assert_eq!(EditRecipe::Style("sketch".into()).image_guidance(), 4.0);
        assert_eq!(
            EditRecipe::Instruction("turn to sketch style".into()).image_guidance(),
            4.0
        );
        assert_eq!(EditRecipe::Add("a hat".into()).image_guidance(), 2.0);
        assert_eq!(
            EditRecipe::Instruction("add butterfly".into()).image_guidance(),
            2.0
        );
    }

    #[test]
    fn empty_words_name_their_flag() {
        let err = EditRecipe::Color {
            target: "the car".into(),
            color: " ".into(),
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(err.contains("--to"), "{err}");
        assert!(EditRecipe::Remove("the sign".into()).check().is_ok());
    }
}
