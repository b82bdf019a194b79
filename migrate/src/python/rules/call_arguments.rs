//! A call's arguments named by the callee's parameter list, so a rule can ask "what was
//! passed as `causal`" whether it came by position or by keyword.

use ruff_python_ast::{Expr, ExprCall};

/// Why a call's arguments cannot be named.
#[derive(Debug, PartialEq, Eq)]
pub enum Unnamed {
    /// `*args` or `**kwargs`: what they hold is only known at run time.
    Unpacked,
    /// More positional arguments than the parameters listed.
    TooManyPositional(usize),
    /// A keyword the callee (as listed) does not take.
    UnknownKeyword(String),
}

/// (parameter, argument) pairs in call order.
pub fn named<'a>(
    call: &'a ExprCall,
    positional: &[&'static str],
    keyword_only: &[&'static str],
) -> Result<Vec<(&'a str, &'a Expr)>, Unnamed> {
    let args = &call.arguments;
    let mut out = Vec::new();
    for (i, arg) in args.args.iter().enumerate() {
        if matches!(arg, Expr::Starred(_)) {
            return Err(Unnamed::Unpacked);
        }
        let Some(name) = positional.get(i) else {
            return Err(Unnamed::TooManyPositional(args.args.len()));
        };
        out.push((*name, arg));
    }
    for kw in &args.keywords {
        let Some(name) = kw.arg.as_ref().map(|a| a.id.as_str()) else {
            return Err(Unnamed::Unpacked);
        };
        if !positional.contains(&name) && !keyword_only.contains(&name) {
            return Err(Unnamed::UnknownKeyword(name.to_string()));
        }
        out.push((name, &kw.value));
    }
    Ok(out)
}

impl std::fmt::Display for Unnamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unnamed::Unpacked => f.write_str("arguments passed with * or ** cannot be checked"),
            Unnamed::TooManyPositional(n) => write!(f, "{n} positional arguments"),
            Unnamed::UnknownKeyword(k) => write!(f, "the argument {k}="),
        }
    }
}
