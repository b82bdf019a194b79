//! The command line `ops-bench` and `gemm-bench` share:
//! `[--json] [--quick] [--torch-python PYTHON] [--rounds N]`.

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
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut parsed = BenchArgs {
            json: false,
            quick: false,
            torch_python: None,
            rounds: 1,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--json" => parsed.json = true,
                "--quick" => parsed.quick = true,
                "--torch-python" => parsed.torch_python = Some(value()?.clone()),
                "--rounds" => {
                    let n = value()?;
                    parsed.rounds = match n.parse::<usize>() {
                        Ok(n) if n > 0 => n,
                        _ => return Err(format!("--rounds takes a positive integer, got {n:?}")),
                    };
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::BenchArgs;

    fn parse(args: &[&str]) -> Result<BenchArgs, String> {
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
    fn bad_arguments_are_named() {
        assert!(parse(&["--rounds", "0"]).unwrap_err().contains("--rounds"));
        assert!(parse(&["--rounds"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--fast"]).unwrap_err().contains("--fast"));
    }
}
