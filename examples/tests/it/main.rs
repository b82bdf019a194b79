//! The examples' integration tests, in one binary like every crate's.

mod hidream_edit;
