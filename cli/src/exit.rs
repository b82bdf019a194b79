//! One meaning per exit status, shared by every program: a script that runs them checks
//! the same codes whichever it calls (each program's `--help` repeats them).

use pipelines::error::ModelError;
use pipelines::hidream::HiDreamError;
use pipelines::hidream::edit_job::EditJobError;
use pipelines::hidream::prompt_encoding::PromptEncodingError;
use pipelines::output_file::OutputFileError;
use std::fmt;
use std::process::ExitCode;

/// Something failed while running on valid input: a tensor operation, a write.
pub const RUN_FAILED: u8 = 1;
/// The user's input is wrong: a flag, a missing or incomplete folder, a missing file,
/// weights that do not fit the config. clap's own usage errors exit with it too.
pub const BAD_INPUT: u8 = 2;

/// A message for the user and the exit status it ends the program with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Prints `error: <message>` on stderr (and what to try, for a device out of memory)
    /// and gives the status for `main` to return.
    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        if is_device_oom(&self.message) {
            eprintln!("hint: {DEVICE_OOM_HINT}");
        }
        ExitCode::from(self.code)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What ops-npu's caching pool says when the device has no memory left, after it gave its
/// own cache back and retried.
fn is_device_oom(message: &str) -> bool {
    message.contains("out of device memory")
}

const DEVICE_OOM_HINT: &str = "the device ran out of memory at the stage named above: \
    `hidream --offload` keeps the transformer blocks on the host, and a smaller \
    --width/--height or batch, or --dtype f16/bf16 instead of f32, needs less";

/// A library error: the input's fault or the run's, except that running out of device
/// memory is never the input's (the same run fits a larger device).
fn by_fault(input_is_wrong: bool, message: String) -> Failure {
    if input_is_wrong && !is_device_oom(&message) {
        bad(message)
    } else {
        failed(message)
    }
}

/// Bad input ([`BAD_INPUT`]).
pub fn bad(message: impl Into<String>) -> Failure {
    Failure::new(BAD_INPUT, message)
}

/// A failure while running ([`RUN_FAILED`]).
pub fn failed(message: impl Into<String>) -> Failure {
    Failure::new(RUN_FAILED, message)
}

/// `main`'s last line: success, or the failure reported.
pub fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

// The libraries' errors say whose fault they are by variant; a tensor operation that fails
// on inputs that passed every check is the program's, anything else is the input's.

impl From<ModelError> for Failure {
    fn from(e: ModelError) -> Self {
        let input_is_wrong = !matches!(e, ModelError::Candle(_) | ModelError::NonFinite { .. });
        by_fault(input_is_wrong, e.to_string())
    }
}

impl From<HiDreamError> for Failure {
    fn from(e: HiDreamError) -> Self {
        let input_is_wrong = !matches!(e, HiDreamError::Candle(_) | HiDreamError::NonFinite { .. });
        by_fault(input_is_wrong, e.to_string())
    }
}

impl From<PromptEncodingError> for Failure {
    fn from(e: PromptEncodingError) -> Self {
        let input_is_wrong = !matches!(e, PromptEncodingError::Run { .. });
        by_fault(input_is_wrong, e.to_string())
    }
}

impl From<EditJobError> for Failure {
    fn from(e: EditJobError) -> Self {
        by_fault(e.is_bad_input(), e.to_string())
    }
}

impl From<OutputFileError> for Failure {
    fn from(e: OutputFileError) -> Self {
        if e.is_bad_path() {
            bad(e.to_string())
        } else {
            failed(e.to_string())
        }
    }
}

impl From<candle_core::Error> for Failure {
    fn from(e: candle_core::Error) -> Self {
        failed(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_failures_are_run_failures_and_the_rest_bad_input() {
        let candle = candle_core::Error::Msg("boom".into());
        assert_eq!(Failure::from(ModelError::from(candle)).code, RUN_FAILED);
        let input = HiDreamError::InvalidInput("no such folder".into());
        assert_eq!(Failure::from(input).code, BAD_INPUT);
        assert_eq!(
            Failure::from(HiDreamError::Candle(candle_core::Error::Msg("x".into()))).code,
            RUN_FAILED
        );
        let nan = HiDreamError::NonFinite { step: 2, total: 4 };
        assert_eq!(Failure::from(nan).code, RUN_FAILED);
    }
}
