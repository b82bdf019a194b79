//! What a LoRA key names: which model, which module, and which part of the adapter.
//!
//! Two layouts are read:
//! - kohya-ss / A1111: `lora_unet_<module with '_' for '.'>.lora_down.weight`, `.lora_up.weight`
//!   and `.alpha`; the text encoder under `lora_te_` (or `lora_te1_`). The underscores make
//!   the module name ambiguous, so it is matched against the model's own weight names later.
//! - diffusers / PEFT: `unet.<module>.lora_A.weight` and `.lora_B.weight` (an adapter name may
//!   sit before `weight`), `text_encoder.<module>...`; `lora_down` / `lora_up` with a dotted
//!   module and an optional `<module>.alpha` are read too.

/// The model an adapter changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Unet,
    TextEncoder,
}

impl Target {
    /// The name diffusers gives the component (its folder and its key prefix).
    pub fn component(self) -> &'static str {
        match self {
            Self::Unet => "unet",
            Self::TextEncoder => "text_encoder",
        }
    }
}

/// A module as the key spells it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    /// `down_blocks.0.attentions.0.proj_in`
    Dotted(String),
    /// kohya's `down_blocks_0_attentions_0_proj_in`
    Mangled(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Down,
    Up,
    Alpha,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub target: Target,
    pub module: Module,
    pub part: Part,
}

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// A known extension this loader does not apply (DoRA, LoCon's mid weights, SDXL's
    /// second text encoder).
    Unsupported(&'static str),
    /// Not a LoRA key in either layout.
    Unknown,
}

pub fn parse(key: &str) -> Result<Key, Unreadable> {
    if key.ends_with(".dora_scale") {
        return Err(Unreadable::Unsupported("DoRA (dora_scale)"));
    }
    if key.contains(".lora_mid.") {
        return Err(Unreadable::Unsupported(
            "LoCon/LyCORIS mid weights (lora_mid)",
        ));
    }
    if let Some(rest) = key.strip_prefix("lora_unet_") {
        return kohya(Target::Unet, rest);
    }
    for prefix in ["lora_te_", "lora_te1_"] {
        if let Some(rest) = key.strip_prefix(prefix) {
            return kohya(Target::TextEncoder, rest);
        }
    }
    if key.starts_with("lora_te2_") {
        return Err(Unreadable::Unsupported(
            "a second text encoder (lora_te2_, SDXL)",
        ));
    }
    for (prefix, target) in [
        ("unet.", Target::Unet),
        ("text_encoder.", Target::TextEncoder),
    ] {
        if let Some(rest) = key.strip_prefix(prefix) {
            return dotted(target, rest);
        }
    }
    Err(Unreadable::Unknown)
}

fn kohya(target: Target, rest: &str) -> Result<Key, Unreadable> {
    let (module, part) = split_part(rest).ok_or(Unreadable::Unknown)?;
    Ok(Key {
        target,
        module: Module::Mangled(module.to_string()),
        part,
    })
}

fn dotted(target: Target, rest: &str) -> Result<Key, Unreadable> {
    let (module, part) = split_part(rest).ok_or(Unreadable::Unknown)?;
    Ok(Key {
        target,
        module: Module::Dotted(module.to_string()),
        part,
    })
}

/// `<module>.<marker>[.<adapter>].weight` or `<module>.alpha`.
fn split_part(rest: &str) -> Option<(&str, Part)> {
    if let Some(module) = rest.strip_suffix(".alpha") {
        return Some((module, Part::Alpha));
    }
    for (marker, part) in [
        (".lora_down.", Part::Down),
        (".lora_A.", Part::Down),
        (".lora_up.", Part::Up),
        (".lora_B.", Part::Up),
    ] {
        if let Some((module, tail)) = rest.split_once(marker) {
            let adapter = tail.strip_suffix("weight")?;
            // Nothing, or one adapter name: "default."
            if adapter.is_empty()
                || (adapter.ends_with('.') && !adapter[..adapter.len() - 1].contains('.'))
            {
                return Some((module, part));
            }
        }
    }
    None
}

/// kohya's spelling of a module name.
pub fn mangle(module: &str) -> String {
    module.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(target: Target, module: Module, part: Part) -> Result<Key, Unreadable> {
        Ok(Key {
            target,
            module,
            part,
        })
    }

    #[test]
    fn both_layouts_name_the_module_and_part() {
        use Module::{Dotted, Mangled};
        assert_eq!(
            parse("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"),
            key(
                Target::Unet,
                Mangled("down_blocks_0_attentions_0_proj_in".into()),
                Part::Down
            )
        );
        assert_eq!(
            parse("lora_te_text_model_encoder_layers_0_mlp_fc1.alpha"),
            key(
                Target::TextEncoder,
                Mangled("text_model_encoder_layers_0_mlp_fc1".into()),
                Part::Alpha
            )
        );
        assert_eq!(
            parse("unet.mid_block.attentions.0.to_q.lora_B.weight"),
            key(
                Target::Unet,
                Dotted("mid_block.attentions.0.to_q".into()),
                Part::Up
            )
        );
        assert_eq!(
            parse("text_encoder.encoder.layers.1.self_attn.q_proj.lora_A.default.weight"),
            key(
                Target::TextEncoder,
                Dotted("encoder.layers.1.self_attn.q_proj".into()),
                Part::Down
            )
        );
    }

    #[test]
    fn extensions_and_strangers_are_told_apart() {
        assert!(matches!(
            parse("lora_unet_x.dora_scale"),
            Err(Unreadable::Unsupported(_))
        ));
        assert!(matches!(
            parse("lora_te2_text_model_x.lora_up.weight"),
            Err(Unreadable::Unsupported(_))
        ));
        assert_eq!(
            parse("model.diffusion_model.x.weight"),
            Err(Unreadable::Unknown)
        );
        assert_eq!(parse("unet.x.lora_A.a.b.weight"), Err(Unreadable::Unknown));
    }
}
