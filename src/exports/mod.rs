//! Reading the clan's exports: JSON (raw or projected) or a plain-data `.nix` file.
//!
//! Whatever the source, the result is the same small model: scope keys with the
//! host strings they export, the peer addresses network services export for
//! their machines, and a network instance's priority. Nothing here judges the
//! values; `zone` and `addresses` do.

pub mod canonical;
mod json;
mod nix_data;
pub mod records;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

use camino::Utf8Path;

use crate::error::Error;
use crate::sys::files::{self, Limit};
use crate::sys::mapped::{self, FileBytes};

/// One export scope (`service:instance:role:machine`): its `endpoints.hosts`,
/// its `peer.hosts` and, for a network instance (`service:instance::`), its
/// `networking.priority`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeHosts<'a> {
    pub key: Cow<'a, str>,
    pub hosts: Vec<Cow<'a, str>>,
    pub peers: Vec<Peer<'a>>,
    pub priority: Option<i64>,
    /// Where the machine field starts in `key` when the key has four fields:
    /// found by `canonical::Exports::canonicalize`, in place (a large clan's
    /// scopes take tens of megabytes), and read through `machine()`.
    pub(crate) machine_at: Option<usize>,
}

/// One `peer.hosts` entry.
#[derive(Debug, Clone)]
pub enum Peer<'a> {
    /// A plain value: an address, or a name (which `zone` skips).
    Value(Cow<'a, str>),
    /// A plain value that is an IP literal, with its canonical text: what
    /// canonicalisation makes of such a `Value`, so that the address is
    /// parsed once however many stages read it.
    Address(IpAddr, Cow<'a, str>),
    /// A value that is not available: a var reference in raw exports (only
    /// the Nix projection reads vars), or a var not generated yet. The text
    /// says which.
    Unavailable(Cow<'a, str>),
}

impl Peer<'_> {
    /// The exported text (for `Unavailable`, why there is none).
    pub fn text(&self) -> &str {
        match self {
            Peer::Value(text) | Peer::Address(_, text) | Peer::Unavailable(text) => text,
        }
    }

    /// Values, parsed or not, by their text; then the unavailable ones. An
    /// address sorts where its text does, so canonical peer lists (and the
    /// input hash) do not change with the parse.
    fn order_key(&self) -> (bool, &str) {
        (matches!(self, Peer::Unavailable(_)), self.text())
    }
}

impl PartialEq for Peer<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.order_key() == other.order_key()
    }
}

impl Eq for Peer<'_> {}

impl PartialOrd for Peer<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Peer<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

/// Reads the exports source into JSON bytes: a `.nix` data file is converted,
/// `-` is stdin, anything else is JSON (mapped when large: see
/// `FileBytes::unchanged`).
pub fn read_source(path: &Utf8Path) -> Result<FileBytes, Error> {
    if path == "-" {
        return files::read_stdin(Limit::Exports)
            .map(FileBytes::Read)
            .map_err(|e| Error::io("reading exports from stdin", e));
    }
    if !is_nix(path) {
        return mapped::read_or_map(path, Limit::Exports)
            .map_err(|e| Error::io(format!("reading {path}"), e));
    }
    let bytes = files::read_file(path, Limit::Exports)
        .map_err(|e| Error::io(format!("reading {path}"), e))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::input(format!("{path} is not UTF-8 text")))?;
    let value = nix_data::to_json(&text).map_err(|e| Error::input(format!("{path}:{e}")))?;
    serde_json::to_vec(&value)
        .map(FileBytes::Read)
        .map_err(|e| Error::input(format!("{path}: cannot convert to JSON: {e}")))
}

fn is_nix(path: &Utf8Path) -> bool {
    path.extension() == Some("nix")
}

/// Scopes as read, and what `finish` made of each piece of them (in order):
/// a large document is read in pieces on two cores, and each piece is
/// finished on the core that read it.
pub type Pieces<'a, R> = (Vec<ScopeHosts<'a>>, Vec<R>);

/// Parses exports JSON. Strings are borrowed from `bytes` where possible.
pub fn parse<'a, R: Send>(
    bytes: &'a [u8],
    finish: impl Fn(&mut [ScopeHosts<'a>]) -> R + Sync,
) -> Result<Pieces<'a, R>, Error> {
    json::parse(bytes, finish).map_err(|e| {
        Error::input(format!(
            "exports are not valid: {e} (hint: produce them with builtins.toJSON; the top \
             level must map scope keys to export values)"
        ))
    })
}

/// Parses what `read_source(path)` read, with errors in the source's terms:
/// a `.nix` file has no JSON positions, and needs no `builtins.toJSON`.
pub fn parse_source<'a, R: Send>(
    path: &Utf8Path,
    bytes: &'a [u8],
    finish: impl Fn(&mut [ScopeHosts<'a>]) -> R + Sync,
) -> Result<Pieces<'a, R>, Error> {
    if !is_nix(path) {
        return parse(bytes, finish);
    }
    json::parse(bytes, finish).map_err(|e| {
        let text = e.to_string();
        let without_position = text.split(" at line ").next().unwrap_or(&text);
        Error::input(format!(
            "{path}: {without_position} (hint: the file must be an attribute set \
             {{ \"<service>:<instance>:<role>:<machine>\" = {{ endpoints.hosts = [ \"<name>\" ]; }}; }})"
        ))
    })
}
