//! What one `is_available()` guard covers, recorded during the walk and settled by the
//! guard rule once every diagnostic of the file is known.

use ruff_text_size::TextRange;

/// One `is_available()` test and the code that runs because of it.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The `torch.cuda.is_available()` calls in the test.
    pub tests: Vec<TextRange>,
    /// What runs when the test says CUDA is there.
    pub guarded: Vec<TextRange>,
}
