//! What a `--model` value names: a folder, or a Hugging Face model id (`ORG/NAME`) already
//! in the local hub cache, found without any network access.
//!
//! The cache is read the way `huggingface_hub` writes it: `models--ORG--NAME/refs/REV`
//! holds a commit hash and `snapshots/HASH/` is the model folder (its files are links into
//! `blobs/`). The cache root follows `huggingface_hub`'s precedence: `HF_HUB_CACHE`, then
//! the legacy `HUGGINGFACE_HUB_CACHE`, then `HF_HOME/hub`, then
//! `XDG_CACHE_HOME/huggingface/hub`, then `~/.cache/huggingface/hub`.
//!
//! The environment is a parameter ([`EnvSource`]) so that tests and embedders resolve
//! against a map instead of mutating the process environment.

use device::EnvSource;
use std::fmt;
use std::path::{Path, PathBuf};

/// The revision used when none is given, as `huggingface_hub` does.
pub const DEFAULT_REVISION: &str = "main";

/// `huggingface_hub` refuses longer repo ids.
const MAX_ID_CHARS: usize = 96;
/// A refs file holds one 40-hex commit hash; anything much larger is not one.
const MAX_REF_BYTES: u64 = 1024;
/// The shortest commit-hash prefix accepted, as git's default abbreviation.
const MIN_HASH_PREFIX: usize = 7;

/// Where the model folder came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The value named a folder (or something path-like, left for the loaders to judge).
    Path,
    /// The value was an id found in the hub cache.
    HubCache {
        id: String,
        /// The revision asked for (a branch, tag or commit hash).
        revision: String,
        /// The commit hash of the snapshot used.
        commit: String,
    },
}

/// A resolved `--model` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    pub folder: PathBuf,
    pub source: Source,
}

impl ResolvedModel {
    /// One line for stderr naming the id, revision and folder; `None` for a plain path,
    /// which needs no explanation.
    pub fn describe(&self, flag: &str) -> Option<String> {
        match &self.source {
            Source::Path => None,
            Source::HubCache {
                id,
                revision,
                commit,
            } => Some(format!(
                "{flag} {id}: revision {revision} (commit {commit}) from the Hugging Face cache, {}",
                self.folder.display()
            )),
        }
    }
}

/// The hub cache root and the variable that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRoot {
    pub path: PathBuf,
    /// e.g. `HF_HUB_CACHE=/data/hub`, or `default (~/.cache/huggingface/hub)`.
    pub chosen_by: String,
}

/// Why a `--model` value could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSourceError {
    /// The value is neither an existing path nor a valid `ORG/NAME` id.
    InvalidId {
        flag: String,
        value: String,
        reason: String,
    },
    InvalidRevision {
        flag: String,
        revision: String,
        reason: String,
    },
    /// `--revision` with a value that is a folder: a folder has no revisions.
    RevisionForPath { flag: String, value: String },
    /// No cache root: HOME and every cache variable are unset.
    NoCacheRoot { flag: String, id: String },
    /// The id (or its revision) is not in the cache.
    NotCached {
        flag: String,
        id: String,
        revision: Option<String>,
        // Boxed: the error travels in every Result of this module.
        cache: Box<CacheRoot>,
        /// Each place looked at, with what was found there.
        looked: Vec<(PathBuf, String)>,
    },
    /// A commit-hash prefix that matches several snapshots.
    AmbiguousRevision {
        flag: String,
        id: String,
        revision: String,
        matches: Vec<String>,
    },
}

impl ModelSourceError {
    /// The command that would put the model in the cache.
    fn download_command(id: &str, revision: Option<&str>) -> String {
        match revision {
            Some(rev) => format!("hf download {id} --revision {rev}"),
            None => format!("hf download {id}"),
        }
    }
}

impl ModelSourceError {
    /// What to do about it, in one line (doctor's "fix").
    pub fn fix(&self) -> String {
        match self {
            Self::NotCached { id, revision, .. } => format!(
                "download it into the cache ({}) or give the model folder",
                Self::download_command(id, revision.as_deref())
            ),
            Self::AmbiguousRevision { .. } => "give more of the commit hash".to_string(),
            Self::RevisionForPath { .. } => "drop --revision".to_string(),
            Self::NoCacheRoot { .. } => "set HF_HUB_CACHE or give the model folder".to_string(),
            Self::InvalidId { .. } | Self::InvalidRevision { .. } => {
                "give a model folder or an id of the form ORG/NAME".to_string()
            }
        }
    }
}

impl fmt::Display for ModelSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidId {
                flag,
                value,
                reason,
            } => write!(
                f,
                "{flag} {value:?}: no such folder, and not a Hugging Face model id ({reason}); \
                 give a model folder or an id of the form ORG/NAME"
            ),
            Self::InvalidRevision {
                flag,
                revision,
                reason,
            } => write!(f, "--revision {revision:?} for {flag}: {reason}"),
            Self::RevisionForPath { flag, value } => write!(
                f,
                "--revision applies to a Hugging Face model id, but {flag} {value} is a path; \
                 drop --revision or give the id (ORG/NAME)"
            ),
            Self::NoCacheRoot { flag, id } => write!(
                f,
                "{flag} {id}: cannot find the Hugging Face cache: HF_HUB_CACHE, \
                 HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME and HOME are all unset; \
                 set HF_HUB_CACHE or give a model folder"
            ),
            Self::NotCached {
                flag,
                id,
                revision,
                cache,
                looked,
            } => {
                let rev = revision.as_deref().unwrap_or(DEFAULT_REVISION);
                write!(
                    f,
                    "{flag} {id}: not a folder, and revision {rev} is not in the Hugging Face \
                     cache {} (chosen by {}). Looked at:",
                    cache.path.display(),
                    cache.chosen_by
                )?;
                for (place, found) in looked {
                    write!(f, "\n  {}: {found}", place.display())?;
                }
                write!(
                    f,
                    "\nNothing is downloaded by this program. To fetch it (the same variables \
                     choose the cache): {}",
                    Self::download_command(id, revision.as_deref())
                )
            }
            Self::AmbiguousRevision {
                flag,
                id,
                revision,
                matches,
            } => write!(
                f,
                "{flag} {id}: --revision {revision} matches several cached commits ({}); \
                 give more of the hash",
                matches.join(", ")
            ),
        }
    }
}

impl std::error::Error for ModelSourceError {}

/// `~` and `~/...` expanded with HOME, as `os.path.expanduser` does for the cache
/// variables; other values are used as given.
fn expand_home(value: &str, env: &dyn EnvSource) -> PathBuf {
    let home = || env.non_empty("HOME").map(PathBuf::from);
    if value == "~" {
        if let Some(h) = home() {
            return h;
        }
    } else if let Some(rest) = value.strip_prefix("~/")
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    PathBuf::from(value)
}

/// The hub cache root, by `huggingface_hub`'s precedence. An empty variable counts as
/// unset (Python would take `""` as the current folder, which is never what was meant).
pub fn cache_root(env: &dyn EnvSource) -> Option<CacheRoot> {
    for var in ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"] {
        if let Some(v) = env.non_empty(var) {
            return Some(CacheRoot {
                path: expand_home(&v, env),
                chosen_by: format!("{var}={v}"),
            });
        }
    }
    if let Some(v) = env.non_empty("HF_HOME") {
        return Some(CacheRoot {
            path: expand_home(&v, env).join("hub"),
            chosen_by: format!("HF_HOME={v}"),
        });
    }
    if let Some(v) = env.non_empty("XDG_CACHE_HOME") {
        return Some(CacheRoot {
            path: expand_home(&v, env).join("huggingface").join("hub"),
            chosen_by: format!("XDG_CACHE_HOME={v}"),
        });
    }
    let home = env.non_empty("HOME")?;
    Some(CacheRoot {
        path: PathBuf::from(home).join(".cache/huggingface/hub"),
        chosen_by: "the default, ~/.cache/huggingface/hub".to_string(),
    })
}

/// A value the user meant as a path rather than an id: one that exists, or is written
/// like a path (`./x`, `/x`, `~/x`, `a/b/c`).
fn looks_like_path(value: &str, path: &Path) -> bool {
    value.starts_with('.')
        || value.starts_with('/')
        || value.starts_with('~')
        || value.matches('/').count() > 1
        || path.symlink_metadata().is_ok()
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `ORG/NAME` as the hub allows it, split; checked before the file system is touched so
/// that nothing in the value can walk out of the cache folder.
pub fn parse_id(value: &str) -> Result<(&str, &str), String> {
    let Some((org, name)) = value.split_once('/') else {
        return Err("an id has the form ORG/NAME".to_string());
    };
    if name.contains('/') {
        return Err("an id has exactly one '/'".to_string());
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(format!("an id has at most {MAX_ID_CHARS} characters"));
    }
    for part in [org, name] {
        if part.is_empty() {
            return Err("ORG and NAME must not be empty".to_string());
        }
        if let Some(c) = part.chars().find(|&c| !name_char(c)) {
            return Err(format!(
                "{c:?} is not allowed (letters a-z, A-Z, digits, '-', '_' and '.' are)"
            ));
        }
        if part.contains("..") || part.contains("--") {
            return Err("'..' and '--' are not allowed".to_string());
        }
        if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
            return Err("ORG and NAME must not start or end with '-' or '.'".to_string());
        }
    }
    Ok((org, name))
}

/// A branch, tag or commit hash that stays inside `refs/` (branches may contain `/`, as in
/// `refs/pr/1`).
fn check_revision(flag: &str, revision: &str) -> Result<(), ModelSourceError> {
    let invalid = |reason: &str| ModelSourceError::InvalidRevision {
        flag: flag.to_string(),
        revision: revision.to_string(),
        reason: reason.to_string(),
    };
    if revision.is_empty() || revision.len() > 255 {
        return Err(invalid("a revision has 1 to 255 characters"));
    }
    if let Some(c) = revision.chars().find(|&c| !(name_char(c) || c == '/')) {
        return Err(invalid(&format!(
            "{c:?} is not allowed in a branch, tag or commit hash"
        )));
    }
    if revision
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(invalid("empty, '.' and '..' path segments are not allowed"));
    }
    Ok(())
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A full git commit hash as the hub writes it into `refs/` and names snapshots by.
fn is_commit(s: &str) -> bool {
    s.len() == 40 && is_hex(s)
}

/// The commit a refs file names; `Err` says what was found instead.
fn read_ref(path: &Path) -> Result<String, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("no such file".to_string());
        }
        Err(e) => return Err(e.to_string()),
    };
    if !meta.is_file() || meta.len() > MAX_REF_BYTES {
        return Err("not a refs file (a small regular file holding a commit hash)".to_string());
    }
    let text = crate::input_file::read_text(path).map_err(|e| e.to_string())?;
    let hash = text.trim();
    if is_commit(hash) {
        Ok(hash.to_string())
    } else {
        Err(format!("holds {hash:?}, not a 40-hex commit hash"))
    }
}

/// Snapshot folder names starting with `prefix`.
fn snapshots_with_prefix(snapshots: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(snapshots) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| is_commit(name) && name.starts_with(prefix))
        .collect();
    found.sort();
    found
}

fn describe_missing(path: &Path) -> String {
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => "a folder".to_string(),
        Ok(_) => "not a folder".to_string(),
        Err(_) => "no such folder".to_string(),
    }
}

/// Resolves the value of `flag` (e.g. `--model`): an existing or path-like value is a path,
/// anything else must be an `ORG/NAME` id in the hub cache at `revision` (default `main`).
/// Never touches the network.
pub fn resolve(
    flag: &str,
    value: &Path,
    revision: Option<&str>,
    env: &dyn EnvSource,
) -> Result<ResolvedModel, ModelSourceError> {
    let text = value.to_str();
    let path_like = match text {
        Some(t) => looks_like_path(t, value),
        // Not UTF-8: cannot be an id, so it can only be meant as a path.
        None => true,
    };
    if path_like {
        if revision.is_some() {
            return Err(ModelSourceError::RevisionForPath {
                flag: flag.to_string(),
                value: value.display().to_string(),
            });
        }
        return Ok(ResolvedModel {
            folder: value.to_path_buf(),
            source: Source::Path,
        });
    }
    let text = text.unwrap_or_default();
    let (org, name) = parse_id(text).map_err(|reason| ModelSourceError::InvalidId {
        flag: flag.to_string(),
        value: text.to_string(),
        reason,
    })?;
    if let Some(rev) = revision {
        check_revision(flag, rev)?;
    }
    let cache = cache_root(env).ok_or_else(|| ModelSourceError::NoCacheRoot {
        flag: flag.to_string(),
        id: text.to_string(),
    })?;
    let repo = cache.path.join(format!("models--{org}--{name}"));
    let snapshots = repo.join("snapshots");
    let rev = revision.unwrap_or(DEFAULT_REVISION);
    let found = |commit: String| ResolvedModel {
        folder: snapshots.join(&commit),
        source: Source::HubCache {
            id: text.to_string(),
            revision: rev.to_string(),
            commit,
        },
    };
    let mut looked = Vec::new();
    // A full hash names its snapshot directly, as huggingface_hub treats it.
    if is_commit(rev) {
        let dir = snapshots.join(rev);
        if dir.is_dir() {
            return Ok(found(rev.to_string()));
        }
        looked.push((dir.clone(), describe_missing(&dir)));
    }
    let ref_file = repo.join("refs").join(rev);
    match read_ref(&ref_file) {
        Ok(commit) => {
            let dir = snapshots.join(&commit);
            if dir.is_dir() {
                return Ok(found(commit));
            }
            looked.push((ref_file, format!("names commit {commit}")));
            looked.push((dir.clone(), describe_missing(&dir)));
        }
        Err(what) => looked.push((ref_file, what)),
    }
    if (MIN_HASH_PREFIX..40).contains(&rev.len()) && is_hex(rev) {
        let mut matches = snapshots_with_prefix(&snapshots, &rev.to_ascii_lowercase());
        match matches.len() {
            1 => return Ok(found(matches.remove(0))),
            0 => looked.push((
                snapshots.clone(),
                format!("no snapshot whose commit starts with {rev}"),
            )),
            _ => {
                return Err(ModelSourceError::AmbiguousRevision {
                    flag: flag.to_string(),
                    id: text.to_string(),
                    revision: rev.to_string(),
                    matches,
                });
            }
        }
    }
    if !repo.is_dir() {
        // The refs file cannot exist either; say the real reason first.
        looked.insert(0, (repo.clone(), describe_missing(&repo)));
    }
    Err(ModelSourceError::NotCached {
        flag: flag.to_string(),
        id: text.to_string(),
        revision: revision.map(str::to_string),
        cache: Box::new(cache),
        looked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use device::MapEnv;

    const HASH: &str = "0123456789abcdef0123456789abcdef01234567";
    const OTHER: &str = "fedcba9876543210fedcba9876543210fedcba98";

    /// A cache with `org/name` at `main` -> HASH and tag `v1` -> OTHER; each snapshot
    /// holds one file linking into blobs/, as the hub lays it out.
    fn cache() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--org--name");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::create_dir_all(repo.join("blobs")).unwrap();
        std::fs::write(repo.join("refs/main"), HASH).unwrap();
        std::fs::write(repo.join("refs/v1"), format!("{OTHER}\n")).unwrap();
        for commit in [HASH, OTHER] {
            let snap = repo.join("snapshots").join(commit);
            std::fs::create_dir_all(&snap).unwrap();
            std::fs::write(repo.join("blobs").join(commit), commit).unwrap();
            #[cfg(unix)]
            std::os::unix::fs::symlink(
                format!("../../blobs/{commit}"),
                snap.join("model_index.json"),
            )
            .unwrap();
        }
        dir
    }

    fn env_for(dir: &Path) -> MapEnv {
        MapEnv::new().with("HF_HUB_CACHE", dir.to_str().unwrap())
    }

    fn id(s: &str) -> &Path {
        Path::new(s)
    }

    #[test]
    fn cache_root_follows_huggingface_hub_precedence() {
        let all = MapEnv::new()
            .with("HF_HUB_CACHE", "/a")
            .with("HUGGINGFACE_HUB_CACHE", "/b")
            .with("HF_HOME", "/c")
            .with("XDG_CACHE_HOME", "/d")
            .with("HOME", "/home/u");
        assert_eq!(cache_root(&all).unwrap().path, PathBuf::from("/a"));
        let legacy = all.clone().with("HF_HUB_CACHE", "");
        assert_eq!(cache_root(&legacy).unwrap().path, PathBuf::from("/b"));
        let home = legacy.clone().with("HUGGINGFACE_HUB_CACHE", " ");
        let root = cache_root(&home).unwrap();
        assert_eq!(root.path, PathBuf::from("/c/hub"));
        assert_eq!(root.chosen_by, "HF_HOME=/c");
        let xdg = home.clone().with("HF_HOME", "");
        assert_eq!(
            cache_root(&xdg).unwrap().path,
            PathBuf::from("/d/huggingface/hub")
        );
        let plain = MapEnv::new().with("HOME", "/home/u");
        assert_eq!(
            cache_root(&plain).unwrap().path,
            PathBuf::from("/home/u/.cache/huggingface/hub")
        );
        assert_eq!(cache_root(&MapEnv::new()), None);
        let tilde = MapEnv::new()
            .with("HF_HOME", "~/hf")
            .with("HOME", "/home/u");
        assert_eq!(
            cache_root(&tilde).unwrap().path,
            PathBuf::from("/home/u/hf/hub")
        );
    }

    #[test]
    fn an_id_resolves_to_the_snapshot_main_names() {
        let dir = cache();
        let got = resolve("--model", id("org/name"), None, &env_for(dir.path())).unwrap();
        assert_eq!(
            got.folder,
            dir.path().join("models--org--name/snapshots").join(HASH)
        );
        assert_eq!(
            got.source,
            Source::HubCache {
                id: "org/name".into(),
                revision: "main".into(),
                commit: HASH.into()
            }
        );
        let line = got.describe("--model").unwrap();
        assert!(line.contains("org/name") && line.contains("main") && line.contains(HASH));
        // HF_HOME reaches the same cache through its hub/ folder.
        let home = tempfile::tempdir().unwrap();
        std::fs::rename(dir.path(), home.path().join("hub")).unwrap();
        let env = MapEnv::new().with("HF_HOME", home.path().to_str().unwrap());
        let got = resolve("--model", id("org/name"), None, &env).unwrap();
        assert!(got.folder.starts_with(home.path().join("hub")));
    }

    #[test]
    fn a_revision_is_a_branch_or_tag_or_a_commit_hash() {
        let dir = cache();
        let env = env_for(dir.path());
        let commit_of = |rev: &str| match resolve("--model", id("org/name"), Some(rev), &env)
            .unwrap()
            .source
        {
            Source::HubCache { commit, .. } => commit,
            Source::Path => panic!("resolved {rev} as a path"),
        };
        assert_eq!(commit_of("v1"), OTHER);
        assert_eq!(commit_of(OTHER), OTHER);
        assert_eq!(commit_of(HASH), HASH);
        assert_eq!(commit_of("fedcba9"), OTHER);
        let err = resolve("--model", id("org/name"), Some("v2"), &env).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("refs/v2: no such file"), "{text}");
        assert!(
            text.contains("hf download org/name --revision v2"),
            "{text}"
        );
    }

    #[test]
    fn an_ambiguous_hash_prefix_is_refused_with_the_matches() {
        let dir = cache();
        let snaps = dir.path().join("models--org--name/snapshots");
        let twin = "0123456789ffffffffffffffffffffffffffffff";
        std::fs::create_dir_all(snaps.join(twin)).unwrap();
        let err = resolve(
            "--model",
            id("org/name"),
            Some("0123456"),
            &env_for(dir.path()),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ModelSourceError::AmbiguousRevision { matches, .. } if matches.len() == 2),
            "{err}"
        );
    }

    #[test]
    fn a_missing_model_lists_where_it_looked_and_how_to_fetch_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(
            "--model",
            id("HiDream-ai/HiDream-I1-Dev"),
            None,
            &env_for(dir.path()),
        )
        .unwrap_err();
        let text = err.to_string();
        let repo = dir.path().join("models--HiDream-ai--HiDream-I1-Dev");
        assert!(
            text.contains(&format!("{}: no such folder", repo.display())),
            "{text}"
        );
        assert!(
            text.contains(&repo.join("refs/main").display().to_string()),
            "{text}"
        );
        assert!(text.contains("HF_HUB_CACHE="), "{text}");
        assert!(
            text.contains("hf download HiDream-ai/HiDream-I1-Dev"),
            "{text}"
        );
        assert!(!text.contains("huggingface-cli"), "{text}");
        assert!(err.fix().contains("hf download HiDream-ai/HiDream-I1-Dev"));
    }

    #[test]
    fn a_ref_whose_snapshot_is_gone_says_so() {
        let dir = cache();
        let snap = dir.path().join("models--org--name/snapshots").join(HASH);
        std::fs::remove_dir_all(&snap).unwrap();
        let err = resolve("--model", id("org/name"), None, &env_for(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("names commit {HASH}")), "{text}");
        assert!(
            text.contains(&format!("{}: no such folder", snap.display())),
            "{text}"
        );
    }

    #[test]
    fn bad_ids_are_refused_before_the_file_system_is_read() {
        // No cache variable at all: a valid id would fail with NoCacheRoot instead.
        let env = MapEnv::new();
        for bad in [
            "模型/稳定扩散",
            "org/名字",
            "org/na..me",
            "org/..",
            "org/",
            "/name",
            "org/na me",
            "org/na--me",
            "org/-name",
            "org\\name/x",
        ] {
            match resolve("--model", id(bad), None, &env) {
                Err(ModelSourceError::InvalidId { value, reason, .. }) => {
                    assert_eq!(value, bad);
                    assert!(!reason.is_empty());
                }
                // A leading '/' is a path, left to the loaders.
                Ok(r) if bad.starts_with('/') => assert_eq!(r.source, Source::Path),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let err = resolve("--model", id("模型/稳定扩散"), None, &env).unwrap_err();
        assert!(err.to_string().contains("'模'"), "{err}");
        let long = format!("org/{}", "a".repeat(100));
        assert!(matches!(
            resolve("--model", id(&long), None, &env),
            Err(ModelSourceError::InvalidId { .. })
        ));
        assert!(matches!(
            resolve("--model", id("org/name"), None, &env),
            Err(ModelSourceError::NoCacheRoot { .. })
        ));
    }

    #[test]
    fn bad_revisions_are_refused() {
        let dir = cache();
        let env = env_for(dir.path());
        for bad in ["../../x", "", "a//b", "/main", "分支", "main/.."] {
            assert!(
                matches!(
                    resolve("--model", id("org/name"), Some(bad), &env),
                    Err(ModelSourceError::InvalidRevision { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_path_takes_no_revision_and_path_spellings_are_paths() {
        // That an existing relative folder named like an id wins over the cache needs a
        // working folder of its own: cli/tests/it/sd_hub.rs runs sd in one.
        let dir = cache();
        let folder = dir.path().join("models--org--name/snapshots").join(HASH);
        let got = resolve("--model", &folder, None, &env_for(dir.path())).unwrap();
        assert_eq!((&got.folder, &got.source), (&folder, &Source::Path));
        assert!(got.describe("--model").is_none());
        let err = resolve("--model", &folder, Some("main"), &env_for(dir.path())).unwrap_err();
        assert!(
            matches!(err, ModelSourceError::RevisionForPath { .. }),
            "{err}"
        );
        for p in ["./org/name", "~/models/sd", "a/b/c", "../x", ".hidden"] {
            let got = resolve("--model", id(p), None, &env_for(dir.path())).unwrap();
            assert_eq!(got.source, Source::Path, "{p}");
        }
        // A bare name that is not there is neither a folder nor an id.
        let err = resolve(
            "--model",
            id("stable-diffusion"),
            None,
            &env_for(dir.path()),
        );
        assert!(
            matches!(err, Err(ModelSourceError::InvalidId { .. })),
            "{err:?}"
        );
    }
}
