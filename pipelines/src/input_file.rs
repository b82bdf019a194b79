//! Opening the files a model folder or a flag names (configs, tokenizer files, weights,
//! images) so that something which is not a regular file cannot hang or mislead a run:
//! a FIFO in place of `config.json` would block `open` forever, a folder or a device node
//! gives a confusing error much later. Symlinks are followed (the Hugging Face cache is
//! made of them); what they point to must be a regular file.

use crate::output_file::non_regular_kind;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The largest text file read whole (configs, vocabularies, tokenizer.json): far above any
/// real one (Llama 3's tokenizer.json is 9 MB), and a bound on what is allocated.
pub const MAX_TEXT_BYTES: u64 = 256 << 20;

fn not_regular(kind: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("is {kind}, not a regular file"),
    )
}

/// Opens `path` for reading if it is a regular file. The open itself does not block on a
/// FIFO (non-blocking flag), and the check is made on the opened file, so nothing can be
/// swapped in between.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    check_regular(path)?;
    let file = options.open(path)?;
    let meta = file.metadata()?;
    match non_regular_kind(&meta) {
        None => Ok(file),
        Some(kind) => Err(not_regular(kind)),
    }
}

/// Fails unless `path` is (or links to) a regular file; for readers that open the path
/// themselves, such as the safetensors memory map.
pub fn check_regular(path: &Path) -> std::io::Result<()> {
    match non_regular_kind(&std::fs::metadata(path)?) {
        None => Ok(()),
        Some(kind) => Err(not_regular(kind)),
    }
}

/// The whole of a UTF-8 text file of at most [`MAX_TEXT_BYTES`].
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > MAX_TEXT_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "is {len} bytes, more than the {} MiB a config or tokenizer file can be",
                MAX_TEXT_BYTES >> 20
            ),
        ));
    }
    let mut text = String::with_capacity(len as usize);
    // `take` guards against a file that grows while it is read.
    file.take(MAX_TEXT_BYTES + 1).read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_and_links_to_them_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("配置.json");
        std::fs::write(&path, "{\"名\": 1}").unwrap();
        assert_eq!(read_text(&path).unwrap(), "{\"名\": 1}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert_eq!(read_text(&link).unwrap(), "{\"名\": 1}");
        }
    }

    #[test]
    fn a_folder_is_refused_with_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(dir.path()).unwrap_err();
        assert!(err.to_string().contains("folder"), "{err}");
        assert!(check_regular(dir.path()).is_err());
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.json");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        // With no writer, a blocking open would never return.
        let err = read_text(&fifo).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }
}
