//! Paths as URI references for SARIF (RFC 3986): every byte outside the unreserved set and
//! `/` is percent-encoded, so a Chinese or spaced file name is a valid `uri-reference`.

use std::fmt::Write;

pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A directory as a `file:` URI with a trailing slash, as SARIF's base URIs must end.
pub fn directory_uri(dir: &std::path::Path) -> String {
    let path = dir.to_string_lossy().replace('\\', "/");
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let mut uri = format!("file://{}", encode_path(&path));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_and_reserved_bytes_are_percent_encoded() {
        assert_eq!(
            encode_path("nb/演示 1.ipynb"),
            "nb/%E6%BC%94%E7%A4%BA%201.ipynb"
        );
        assert_eq!(encode_path("a#b?c%"), "a%23b%3Fc%25");
        assert_eq!(
            directory_uri(std::path::Path::new("/tmp/x y")),
            "file:///tmp/x%20y/"
        );
    }
}
