//! Source-tree migration from CUDA-only code to device-portable code.
//!
//! Stands alone in the workspace (no tensor libraries). Every rewrite is a span edit found
//! by an exact parser, so comments, formatting and line endings survive; everything that
//! cannot be rewritten safely becomes a diagnostic with a stable code (see [`catalog`]).
//! Each rule family sits in its own file with its catalog entries, as ruff lays out rules.

pub mod apply;
pub mod catalog;
pub mod code;
pub mod config;
mod cuda_source;
pub mod diagnostic;
mod docs;
pub mod edit;
mod edit_index;
pub mod file_result;
pub mod findings;
pub mod helper;
pub mod helper_placement;
pub mod nesting;
mod notebook;
pub mod options;
pub mod output;
pub mod output_file;
pub mod patch;
pub mod policy;
pub mod python;
pub mod report;
mod requirements;
pub mod run;
pub mod rust;
mod rust_crates;
pub mod selection;
pub mod settings;
mod shell;
pub mod suppression;
pub mod test_paths;
pub mod text;
mod visible_devices_order;
pub mod walk;

pub use code::{Code, Entry, Kind, Severity};
pub use diagnostic::Diagnostic;
pub use options::{RuleOptions, Style};
