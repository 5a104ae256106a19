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
            Error::Input(problems) => {
                for (i, problem) in problems.iter().enumerate() {
                    let separator = if i == 0 { "" } else { "\nerror: " };
                    write!(f, "{separator}{}", Shortened(problem))?;
                }
                Ok(())
            }
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

/// A message as printed: one cut short where it quotes a huge input (a
/// parser's error can quote a 10 MB value whole), with its length said.
struct Shortened<'a>(&'a str);

/// More than any message of ours needs: names in them are cut at 100 bytes
/// (`name::Quoted`), and their other words are few.
const MESSAGE_BYTES: usize = 1000;

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.len() <= MESSAGE_BYTES {
            return f.write_str(text);
        }
        let mut cut = MESSAGE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        write!(
            f,
            "{}... (message cut, {} bytes in all)",
            &text[..cut],
            text.len()
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_messages_are_cut() {
        let huge = Error::input(format!(
            "invalid type: string \"{}\"",
            "x".repeat(10_000_000)
        ));
        let shown = huge.to_string();
        assert!(shown.len() < 1100, "{} bytes", shown.len());
        assert!(
            shown.ends_with("(message cut, 10000023 bytes in all)"),
            "{shown}"
        );
        assert_eq!(Error::input("short").to_string(), "short");
    }
}
