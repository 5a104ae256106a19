//! The one error type of dm-dns. Every error ends the command with exit code 2
//! (docs/architecture.md, "Contracts"); the text says what went wrong and how to fix it.

use std::fmt;

use crate::dns::problem::{Problem, Problems};

#[derive(Debug)]
pub enum Error {
    /// Input that breaks a rule: one line per problem found.
    Input(Vec<String>),
    /// Exports that `zone` refuses, sorted (see `problem`).
    Exports(Vec<Problem>),
    /// A file or command that could not be read, written or run.
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl Error {
    pub fn input(message: impl Into<String>) -> Error {
        Error::Input(vec![message.into()])
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(problems) => f.write_str(&problems.join("\nerror: ")),
            Error::Exports(problems) => {
                for (i, problem) in problems.iter().take(Problems::SHOWN).enumerate() {
                    let separator = if i == 0 { "" } else { "\nerror: " };
                    write!(f, "{separator}{problem}")?;
                }
                match problems.len().checked_sub(Problems::SHOWN) {
                    Some(more) if more > 0 => write!(f, "\nerror: ... and {more} more problems"),
                    _ => Ok(()),
                }
            }
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
