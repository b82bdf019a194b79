//! `--model`, `--llama` and `--refine-model` values resolved the same way in every program:
//! a folder, or a model id from the Hugging Face cache (see `pipelines::model_source`),
//! with the resolution said on stderr so the user sees which snapshot a run used.

use crate::exit::{Failure, bad};
use device::ProcessEnv;
use pipelines::model_source::{ResolvedModel, Source, resolve};
use std::path::{Path, PathBuf};

/// The folder `value` names for `flag`, from the process environment; an id found in the
/// cache is announced on one stderr line. Every failure is bad input (exit 2).
pub fn model_folder(
    flag: &str,
    value: &Path,
    revision: Option<&str>,
) -> Result<ResolvedModel, Failure> {
    let resolved = resolve(flag, value, revision, &ProcessEnv).map_err(|e| bad(e.to_string()))?;
    if let Some(line) = resolved.describe(flag) {
        eprintln!("{line}");
    }
    Ok(resolved)
}

/// Replaces `value` with the folder it names, keeping the resolution for a JSON report.
pub fn resolve_in_place(
    flag: &str,
    value: &mut PathBuf,
    revision: Option<&str>,
    log: &mut Vec<(String, ResolvedModel)>,
) -> Result<(), Failure> {
    let resolved = model_folder(flag, value, revision)?;
    value.clone_from(&resolved.folder);
    log.push((flag.to_string(), resolved));
    Ok(())
}

/// The resolutions as JSON, keyed by flag: `{"--model": {"folder": ..., "id": ...,
/// "revision": ..., "commit": ...}}` (id, revision and commit are null for a folder).
pub fn to_json(log: &[(String, ResolvedModel)]) -> serde_json::Value {
    let entries = log.iter().map(|(flag, r)| {
        let (id, revision, commit) = match &r.source {
            Source::Path => (None, None, None),
            Source::HubCache {
                id,
                revision,
                commit,
            } => (Some(id), Some(revision), Some(commit)),
        };
        (
            flag.clone(),
            serde_json::json!({
                "folder": r.folder,
                "id": id,
                "revision": revision,
                "commit": commit,
            }),
        )
    });
    serde_json::Value::Object(entries.collect())
}
