//! What the toolkit's command-line programs share, so that `sd`, `sd-bench`, `hidream`,
//! `doctor` and the `hidream-edit` example agree on exit codes, on how a flag value is
//! spelled and on what progress looks like, and so that the libraries below them need no
//! argument parser, terminal code or catch-all error type.
//!
//! - `device_choice`: `--device auto` and PREFERRED_DEVICE / PREFERRED_DTYPE, with one line
//!   saying what was chosen and why.
//! - `exit`: the exit statuses and the error that carries one.
//! - `interrupt`: SIGINT and SIGTERM end a run with 130 or 143, leaving no scratch or
//!   temporary file behind.
//! - `model_arg`: a model flag's folder, or its id looked up in the Hugging Face cache.
//! - `values`: clap parsers for the flag values the libraries already know how to read
//!   (device, dtype, kernels, edit variant).
//! - `output_paths`: the files asked for, checked before any work.
//! - `image_names`: where each image of a run goes (a file, a %d pattern or a folder).
//! - `seed`: `--seed N` or -1 for a random seed.
//! - `progress`: the step bar and the reporter for HiDream's generate and edit events.

pub mod device_choice;
pub mod exit;
pub mod image_names;
pub mod interrupt;
pub mod model_arg;
pub mod output_paths;
pub mod progress;
pub mod seed;
pub mod values;
