//! The editing prompt's text: the format HiDream-E1 was trained on, and the description the
//! refine stage guides towards.

/// "Editing Instruction: {instruction}. Target Image Description: {description}", the
/// format of the HiDream-E1 README (the instruction's own final period is not doubled).
pub fn editing_prompt(instruction: &str, description: &str) -> String {
    let instruction = instruction.trim();
    let instruction = instruction.strip_suffix('.').unwrap_or(instruction);
    format!(
        "Editing Instruction: {instruction}. Target Image Description: {}",
        description.trim()
    )
}

const TARGET_MARKER: &str = "Target Image Description:";

/// What the reference takes as the refine stage's prompt:
/// `prompt.split("Target Image Description:")[1].strip()`, or `None` without the marker.
pub fn target_description(prompt: &str) -> Option<&str> {
    let mut parts = prompt.split(TARGET_MARKER);
    parts.next();
    parts.next().map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_readme_example() {
        assert_eq!(
            editing_prompt(
                "Convert the image into a Ghibli style.",
                "A person in a light pink t-shirt with short dark hair, depicted in a Ghibli \
                 style against a plain background."
            ),
            "Editing Instruction: Convert the image into a Ghibli style. Target Image \
             Description: A person in a light pink t-shirt with short dark hair, depicted in a \
             Ghibli style against a plain background."
        );
    }

    #[test]
    fn target_follows_python_split_and_strip() {
        let prompt = editing_prompt("make it snow", "  a snowy street ");
        assert_eq!(target_description(&prompt), Some("a snowy street"));
        assert_eq!(target_description("just an instruction"), None);
        // split()[1] stops at a second marker.
        assert_eq!(
            target_description("x Target Image Description: a Target Image Description: b"),
            Some("a")
        );
    }
}
