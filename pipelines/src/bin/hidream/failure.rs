//! Errors and the exit status each maps to (see the help's "Exit status").

use pipelines::hidream::prompt_encoding::PromptEncodingError;

/// An exit status and the message printed before exiting with it.
pub struct Failure(pub u8, pub String);

pub const BAD_INPUT: u8 = 2;
pub const RUN_FAILED: u8 = 1;

pub fn bad(message: impl Into<String>) -> Failure {
    Failure(BAD_INPUT, message.into())
}

pub fn failed(message: impl Into<String>) -> Failure {
    Failure(RUN_FAILED, message.into())
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
