//! Errors and the exit status each maps to (see the help's "Exit status").

use pipelines::hidream::prompt_encoding::PromptEncodingError;

/// An exit status and the message printed before exiting with it.
pub struct Failure(pub u8, pub String);

pub const BAD_INPUT: u8 = 2;
pub const RUN_FAILED: u8 = 1;
pub const NOT_BUILT: u8 = 3;

pub fn bad(message: impl Into<String>) -> Failure {
    Failure(BAD_INPUT, message.into())
}

pub fn failed(message: impl Into<String>) -> Failure {
    Failure(RUN_FAILED, message.into())
}

/// The subcommand's pipeline has not been merged into this build: say so instead of
/// pretending, after the flags and folders have been checked.
pub fn not_built(subcommand: &str, module: &str) -> Failure {
    Failure(
        NOT_BUILT,
        format!(
            "hidream {subcommand} is not available yet: its pipeline ({module}) is not in \
             this build. The flags and folders were checked (--dry-run prints the settings); \
             `hidream encode` runs the text encoders."
        ),
    )
}

impl From<PromptEncodingError> for Failure {
    fn from(e: PromptEncodingError) -> Self {
        let code = match e {
            // A tensor operation failed on valid inputs: not the user's input.
            PromptEncodingError::Run { .. } => RUN_FAILED,
            _ => BAD_INPUT,
        };
        Failure(code, e.to_string())
    }
}
