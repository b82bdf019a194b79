//! One error type for every kernel and backend.

/// What went wrong, naming the argument or the library involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpsError {
    /// An argument's shape does not fit the kernel or the other arguments.
    #[error("{arg}: {message}")]
    Shape { arg: &'static str, message: String },
    /// A valid request this backend cannot run (dtype, SoC, missing library or symbol).
    #[error("{0}")]
    Unsupported(String),
    /// The C++ kernel or the vendor runtime reported a failure.
    #[error("{0}")]
    Backend(String),
}

impl OpsError {
    pub(crate) fn shape(arg: &'static str, message: impl Into<String>) -> Self {
        OpsError::Shape {
            arg,
            message: message.into(),
        }
    }
}

impl From<cxx::Exception> for OpsError {
    fn from(e: cxx::Exception) -> Self {
        OpsError::Backend(format!("C++ kernel rejected its arguments: {}", e.what()))
    }
}

/// A failure the vendor runtime reported through the C++ bridge, in its own words (the
/// `From` conversion above words C++ kernel rejections instead).
pub(crate) fn backend(e: cxx::Exception) -> OpsError {
    OpsError::Backend(e.what().to_string())
}

pub type Result<T, E = OpsError> = std::result::Result<T, E>;
