//! Which files are tests or fixtures: the report counts them apart, so a project's hundred test
//! fixtures do not drown the handful of real sites that crash on an NPU host.

/// Directory names that hold tests or test data.
const TEST_DIRS: &[&str] = &[
    "test", "tests", "testing", "fixtures", "fixture", "testdata",
];

/// True for `tests/...`, `fixtures/...`, `test_x.py`, `x_test.py` and `conftest.py`.
pub fn is_test_or_fixture(relative: &str) -> bool {
    let mut parts = relative.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            let stem = part.strip_suffix(".py").unwrap_or(part);
            return stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest";
        }
        if TEST_DIRS.contains(&part.to_ascii_lowercase().as_str()) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_and_fixtures_are_told_from_code() {
        for test in [
            "tests/test_model.py",
            "litgpt/tests/helpers.py",
            "test_lora.py",
            "pkg/lora_test.py",
            "conftest.py",
            "migrate/fixtures/示例.py",
        ] {
            assert!(is_test_or_fixture(test), "{test}");
        }
        for code in [
            "litgpt/lora.py",
            "train.py",
            "contest.py",
            "latest/model.py",
            "testament.py",
        ] {
            assert!(!is_test_or_fixture(code), "{code}");
        }
    }
}
