//! A run's settings: each from the command line when given there, else from
//! `[tool.migrate]`, else the default. Codes are checked here, so a typo stops the run
//! before any work, with the flag or the config file named.

use crate::code::Severity;
use crate::config::FileConfig;
use crate::options::{DEFAULT_HELPER, Style};
use crate::output::OutputFormat;
use crate::selection::{Selection, parse_list};

/// What the command line said; None / empty where it said nothing.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub style: Option<Style>,
    pub helper_module: Option<String>,
    pub exclude: Vec<String>,
    pub output_format: Option<OutputFormat>,
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub fail_on: Option<Severity>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub style: Style,
    pub helper_module: String,
    pub exclude: Vec<String>,
    pub output_format: OutputFormat,
    pub selection: Selection,
    pub fail_on: Option<Severity>,
}

pub fn resolve(cli: CommandLine, file: Option<&FileConfig>) -> Result<Settings, String> {
    let from_file = |key: &str| match file {
        Some(f) => format!("{}: [tool.migrate] {key}", f.path.display()),
        None => key.to_string(),
    };
    let select = match (cli.select, file.and_then(|f| f.select.clone())) {
        (Some(list), _) => Some(parse_list(&list, "--select")?),
        (None, Some(list)) => Some(parse_list(&list, &from_file("select"))?),
        (None, None) => None,
    };
    let ignore = match (cli.ignore, file.and_then(|f| f.ignore.clone())) {
        (Some(list), _) => parse_list(&list, "--ignore")?,
        (None, Some(list)) => parse_list(&list, &from_file("ignore"))?,
        (None, None) => Vec::new(),
    };
    let exclude = if cli.exclude.is_empty() {
        file.and_then(|f| f.exclude.clone()).unwrap_or_default()
    } else {
        cli.exclude
    };
    Ok(Settings {
        style: cli.style.or(file.and_then(|f| f.style)).unwrap_or_default(),
        helper_module: cli
            .helper_module
            .or(file.and_then(|f| f.helper_module.clone()))
            .unwrap_or_else(|| DEFAULT_HELPER.to_string()),
        exclude,
        output_format: cli
            .output_format
            .or(file.and_then(|f| f.output_format))
            .unwrap_or_default(),
        selection: Selection { select, ignore },
        fail_on: cli.fail_on.or(file.and_then(|f| f.fail_on)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use std::path::PathBuf;

    fn file() -> FileConfig {
        FileConfig {
            path: PathBuf::from("proj/pyproject.toml"),
            select: Some(vec!["PY1".into()]),
            ignore: Some(vec!["PY112".into()]),
            style: Some(Style::Npu),
            fail_on: Some(Severity::Warning),
            exclude: Some(vec!["vendor/**".into()]),
            helper_module: Some("dev".into()),
            output_format: Some(OutputFormat::Github),
        }
    }

    #[test]
    fn the_config_fills_what_the_command_line_leaves_out() {
        let s = resolve(CommandLine::default(), Some(&file())).unwrap();
        assert_eq!(s.style, Style::Npu);
        assert_eq!(s.helper_module, "dev");
        assert_eq!(s.exclude, vec!["vendor/**".to_string()]);
        assert_eq!(s.output_format, OutputFormat::Github);
        assert_eq!(s.fail_on, Some(Severity::Warning));
        assert!(s.selection.is_selected(Code::PY101) && !s.selection.is_selected(Code::PY112));
        assert!(!s.selection.is_selected(Code::SH103));
    }

    #[test]
    fn the_command_line_overrides_each_setting_it_names() {
        let cli = CommandLine {
            style: Some(Style::Portable),
            exclude: vec!["build/**".into()],
            select: Some(vec!["SH".into()]),
            fail_on: Some(Severity::Error),
            ..CommandLine::default()
        };
        let s = resolve(cli, Some(&file())).unwrap();
        assert_eq!(s.style, Style::Portable);
        assert_eq!(s.exclude, vec!["build/**".to_string()]);
        assert_eq!(s.fail_on, Some(Severity::Error));
        assert!(s.selection.is_selected(Code::SH103) && !s.selection.is_selected(Code::PY101));
        assert_eq!(s.helper_module, "dev", "not named on the command line");
    }

    #[test]
    fn a_bad_code_names_where_it_came_from() {
        let mut f = file();
        f.ignore = Some(vec!["PY9".into()]);
        let err = resolve(CommandLine::default(), Some(&f)).unwrap_err();
        assert!(
            err.starts_with("proj/pyproject.toml: [tool.migrate] ignore: unknown code \"PY9\""),
            "{err}"
        );
        let cli = CommandLine {
            select: Some(vec!["XX1".into()]),
            ..CommandLine::default()
        };
        let err = resolve(cli, None).unwrap_err();
        assert!(err.starts_with("--select: unknown code \"XX1\""), "{err}");
    }
}
