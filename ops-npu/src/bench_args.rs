//! The command line `ops-bench` and `gemm-bench` share:
//! `[--json] [--quick] [--torch-python PYTHON] [--rounds N]`, and `--help`.

/// `--help`'s text for `program`.
pub fn usage(program: &str) -> String {
    format!(
        "usage: {program} [--json] [--quick] [--torch-python PYTHON] [--rounds N]

  --json                 one JSON object on stdout instead of the table
  --quick                only the smaller cases
  --torch-python PYTHON  a Python with torch, for a side-by-side reference run
  --rounds N             alternating rounds of ours and the reference (default 1)
  -h, --help             print this and exit

Nothing fails on speed: the figures are reported, not checked.
Exit status: 0 done; 2 a bad argument.
"
    )
}

/// Whether the arguments ask for the usage text (`--help` or `-h` anywhere but as a
/// flag's value), which is printed instead of running, as clap-based programs do.
pub fn wants_help(args: &[String]) -> bool {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--help" | "-h" => return true,
            "--torch-python" | "--rounds" => {
                it.next();
            }
            _ => {}
        }
    }
    false
}

/// The argument that is wrong, in the words the usage line uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenchArgsError {
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("--rounds takes a positive integer, got {0:?}")]
    Rounds(String),
    #[error("unknown argument {0}")]
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchArgs {
    /// One JSON object on stdout instead of the table.
    pub json: bool,
    /// Only the smaller cases.
    pub quick: bool,
    /// Python with torch for the side-by-side reference run.
    pub torch_python: Option<String>,
    /// Alternating rounds of ours and the reference (at least 1).
    pub rounds: usize,
}

impl BenchArgs {
    /// Parses the arguments after the program name; the error says which one is wrong.
    pub fn parse(args: &[String]) -> Result<Self, BenchArgsError> {
        let mut parsed = BenchArgs {
            json: false,
            quick: false,
            torch_python: None,
            rounds: 1,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .ok_or_else(|| BenchArgsError::MissingValue(arg.clone()))
            };
            match arg.as_str() {
                "--json" => parsed.json = true,
                "--quick" => parsed.quick = true,
                "--torch-python" => parsed.torch_python = Some(value()?.clone()),
                "--rounds" => {
                    let n = value()?;
                    parsed.rounds = match n.parse::<usize>() {
                        Ok(n) if n > 0 => n,
                        _ => return Err(BenchArgsError::Rounds(n.clone())),
                    };
                }
                other => return Err(BenchArgsError::Unknown(other.to_string())),
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::{BenchArgs, BenchArgsError, usage, wants_help};

    fn parse(args: &[&str]) -> Result<BenchArgs, BenchArgsError> {
        BenchArgs::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_values_are_read() {
        let a = parse(&["--json", "--rounds", "3", "--torch-python", "py"]).expect("valid");
        assert!(a.json && !a.quick);
        assert_eq!(a.rounds, 3);
        assert_eq!(a.torch_python.as_deref(), Some("py"));
        assert_eq!(parse(&[]).expect("valid").rounds, 1);
    }

    #[test]
    fn help_is_asked_for_anywhere_but_as_a_value() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants_help(&args(&["--help"])));
        assert!(wants_help(&args(&["--json", "-h"])));
        assert!(!wants_help(&args(&["--torch-python", "--help"])));
        assert!(!wants_help(&args(&["--json"])));
        assert!(usage("ops-bench").starts_with("usage: ops-bench [--json]"));
    }

    #[test]
    fn bad_arguments_are_named() {
        let message = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert!(message(&["--rounds", "0"]).contains("--rounds"));
        assert!(message(&["--rounds"]).contains("needs a value"));
        assert!(message(&["--fast"]).contains("--fast"));
    }
}
