//! Reading the records a clan declares (the clan service's `records`
//! setting, `dm-dns zone --records`): JSON mapping each name to its record
//! types and their values. Only the shape is read here; `compile::declared`
//! judges names and values.

use std::collections::BTreeMap;

use camino::Utf8Path;

use crate::error::Error;
use crate::sys::files::{self, Limit};

/// Name -> record type -> value, as written (sorted by name and type, so
/// the order of the input never shows).
pub type RecordsInput = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

/// Reads `path` (`-`: stdin) as declared records.
pub fn read(path: &Utf8Path) -> Result<RecordsInput, Error> {
    let bytes = if path == "-" {
        files::read_stdin(Limit::Exports).map_err(|e| Error::io("reading records from stdin", e))?
    } else {
        files::read_file(path, Limit::Exports)
            .map_err(|e| Error::io(format!("reading {path}"), e))?
    };
    parse(&bytes).map_err(|e| Error::input(format!("{path}: {e}")))
}

pub fn parse(bytes: &[u8]) -> Result<RecordsInput, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "declared records are not valid: {e} (hint: a JSON object of names, each an \
             object of record types: {{\"printer.<domain>\": {{\"A\": [\"192.168.1.20\"]}}}})"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shape_only() {
        let records =
            parse(br#"{"b.clan": {"TXT": ["x"]}, "a.clan": {"A": ["1.2.3.4"]}}"#).unwrap();
        assert_eq!(records.keys().collect::<Vec<_>>(), ["a.clan", "b.clan"]);
        assert!(parse(b"[1]").unwrap_err().contains("hint"));
        assert!(parse(br#"{"a.clan": ["1.2.3.4"]}"#).is_err());
    }
}
