//! The examples' integration tests, in one binary like every crate's.

mod hidream_edit;
mod hidream_edit_flags;
mod hidream_edit_hub;
mod hidream_edit_interrupt;
