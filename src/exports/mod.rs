//! Reading the clan's exports: JSON (raw or projected) or a plain-data `.nix` file.
//!
//! Whatever the source, the result is the same small model: scope keys with the
//! host strings they export. Nothing here judges the names; `zone` does.

mod json;
mod nix_data;

use std::borrow::Cow;
use std::io::Read;

use camino::Utf8Path;

use crate::error::Error;

/// One export scope (`service:instance:role:machine`) and its `endpoints.hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeHosts<'a> {
    pub key: Cow<'a, str>,
    pub hosts: Vec<Cow<'a, str>>,
}

/// Reads the exports source into JSON bytes: a `.nix` data file is converted,
/// `-` is stdin, anything else is read as JSON.
pub fn read_source(path: &Utf8Path) -> Result<Vec<u8>, Error> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("reading exports from stdin", e))?;
        return Ok(buf);
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("reading {path}"), e))?;
    if path.extension() == Some("nix") {
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::input(format!("{path} is not UTF-8 text")))?;
        let value = nix_data::to_json(&text).map_err(|e| Error::input(format!("{path}:{e}")))?;
        return serde_json::to_vec(&value)
            .map_err(|e| Error::input(format!("{path}: cannot convert to JSON: {e}")));
    }
    Ok(bytes)
}

/// Parses exports JSON. Strings are borrowed from `bytes` where possible.
pub fn parse(bytes: &[u8]) -> Result<Vec<ScopeHosts<'_>>, Error> {
    json::parse(bytes)
}
