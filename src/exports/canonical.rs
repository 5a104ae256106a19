//! The canonical form of the exports: scopes sorted and merged, hosts
//! normalised, sorted and deduplicated, peer values trimmed and IP literals
//! written canonically. Every later stage is independent of input order,
//! formatting and duplicates. Malformed host names are set aside as problems
//! for the compile to report with everything else it finds.

use std::borrow::Cow;

use camino::Utf8Path;

use super::{Peer, ScopeHosts};
use crate::dns::ip_text::{self, IpText};
use crate::dns::name;
use crate::dns::problem::{ProblemKind, Problems};
use crate::error::Error;
use crate::sys::halves;

/// One scope key with its normalised hosts and its peer addresses, each
/// sorted and deduplicated, and its network priority: the read scope,
/// canonicalised in place.
pub type Scope<'a> = ScopeHosts<'a>;

/// Where the machine field starts in a key of four fields
/// (`service:instance:role:machine`), if it has four.
pub fn machine_at(key: &str) -> Option<usize> {
    // Colons counted without a branch per byte (the loop runs on vector
    // registers: every scope of a large clan comes here), then the last
    // one found.
    let colons = key.bytes().filter(|&b| b == b':').count();
    (colons == 3)
        .then(|| key.rfind(':').map(|at| at + 1))
        .flatten()
}

/// `service:instance` of a four-field key whose machine starts at `at`.
pub fn network_at(key: &str, at: usize) -> &str {
    let role_at = key[..at - 1].rfind(':').unwrap_or(0);
    &key[..role_at]
}

impl ScopeHosts<'_> {
    fn find_machine(&mut self) {
        self.machine_at = machine_at(&self.key);
    }

    /// `service:instance` of a four-field key: the network a peer scope
    /// belongs to, and the key of its instance scope without `::`.
    pub fn network(&self) -> Option<&str> {
        self.machine_at.map(|at| network_at(&self.key, at))
    }

    /// The fourth field of `service:instance:role:machine`, if the key has four.
    pub fn machine(&self) -> Option<&str> {
        self.machine_at.map(|at| &self.key[at..])
    }
}

/// The canonical exports: the only input the zone depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exports<'a> {
    pub scopes: Vec<Scope<'a>>,
    /// Malformed host names found while canonicalising, left out of
    /// `scopes`: the compile reports them with everything else it finds, so
    /// one run lists every problem of the input.
    pub(crate) problems: Problems,
}

/// Trims a peer value (var files end in a newline, and the Nix projection
/// trims too) and makes an IP literal an `Address` in its canonical form, so
/// that `200:0:0::1` and `200::1` are one input.
fn normalize_peer(peer: &mut Peer<'_>) {
    let Peer::Value(value) = peer else {
        return;
    };
    let trimmed = value.trim();
    if let Some((address, canonical)) = ip_text::parse_canonical(trimmed) {
        // Most values are canonical already.
        let text = if canonical && trimmed.len() == value.len() {
            std::mem::take(value)
        } else {
            Cow::Owned(IpText::of(&address).as_str().to_owned())
        };
        *peer = Peer::Address(address, text);
    } else if trimmed.len() != value.len() {
        *value = match value {
            Cow::Borrowed(v) => Cow::Borrowed(v.trim()),
            Cow::Owned(v) => Cow::Owned(v.trim().to_owned()),
        };
    }
}

/// Finds the scope's machine and normalises its hosts and peer values, each
/// list then sorted without repeats; in place: most names are already
/// canonical and stay borrowed.
fn normalize_scope(scope: &mut ScopeHosts<'_>, problems: &mut Problems) {
    scope.find_machine();
    let key = &scope.key;
    let mut malformed = false;
    for host in &mut scope.hosts {
        let normalized = match host {
            Cow::Borrowed(s) => name::normalize_endpoint(s),
            // An owned name (it had JSON escapes) is reused when only a
            // trailing dot goes.
            Cow::Owned(s) => match name::normalize_endpoint(s) {
                Ok(Cow::Borrowed(prefix)) => {
                    let len = prefix.len();
                    s.truncate(len);
                    Ok(Cow::Owned(std::mem::take(s)))
                }
                Ok(Cow::Owned(changed)) => Ok(Cow::Owned(changed)),
                Err(e) => Err(e),
            },
        };
        match normalized {
            Ok(n) => *host = n,
            Err(e) => {
                problems.add(key, Some(host), ProblemKind::HostName(e));
                malformed = true;
            }
        }
    }
    if malformed {
        scope
            .hosts
            .retain(|host| name::normalize_endpoint(host).is_ok_and(|n| n == *host));
    }
    sort_without_repeats(&mut scope.hosts);
    scope.peers.iter_mut().for_each(normalize_peer);
    sort_without_repeats(&mut scope.peers);
}

/// Sorts and drops repeats, after one look when there is nothing to do
/// (hosts usually come sorted).
fn sort_without_repeats<T: Ord>(list: &mut Vec<T>) {
    if !list.is_sorted_by(|a, b| a < b) {
        list.sort_unstable();
        list.dedup();
    }
}

/// How many pieces the scopes are canonicalised in.
const CANONICAL_PIECES: usize = 16;

/// What normalising one piece of the scopes found.
struct Normalized {
    problems: Problems,
    /// How many scopes the piece has.
    len: usize,
    /// Whether their keys rise strictly, as `builtins.toJSON` writes them:
    /// then `merge` has nothing to sort or merge inside the piece.
    rising: bool,
}

/// Normalises the scopes of one piece.
fn normalize_piece(scopes: &mut [ScopeHosts<'_>]) -> Normalized {
    let mut problems = Problems::default();
    for scope in scopes.iter_mut() {
        normalize_scope(scope, &mut problems);
    }
    Normalized {
        problems,
        len: scopes.len(),
        rising: scopes.is_sorted_by(|a, b| a.key < b.key),
    }
}

impl<'a> Exports<'a> {
    /// Reads exports JSON and canonicalises it: each piece the reader reads
    /// is normalised while it is still in the reading core's cache.
    pub fn parse(bytes: &'a [u8]) -> Result<Exports<'a>, Error> {
        let (scopes, problems) = crate::exports::parse(bytes, normalize_piece)?;
        Ok(Exports::merge(scopes, problems))
    }

    /// `parse` for what `exports::read_source(path)` read (errors in the
    /// source's terms).
    pub fn parse_source(path: &Utf8Path, bytes: &'a [u8]) -> Result<Exports<'a>, Error> {
        let (scopes, problems) = crate::exports::parse_source(path, bytes, normalize_piece)?;
        Ok(Exports::merge(scopes, problems))
    }

    /// Normalises every host name and merges duplicate scopes. Malformed host
    /// names are left out and kept as problems for the compile to report.
    pub fn canonicalize(raw: Vec<ScopeHosts<'a>>) -> Result<Exports<'a>, Error> {
        let mut scopes = raw;
        // Every host and peer of every scope is read here: two cores share
        // them, in pieces (scopes cost as many hosts and peers as they have).
        let problems = halves::pieces_mut(&mut scopes, CANONICAL_PIECES, normalize_piece);
        Ok(Exports::merge(scopes, problems))
    }

    /// Normalised scopes sorted, and those that appear more than once (a JSON
    /// key repeated) merged.
    fn merge(mut scopes: Vec<Scope<'a>>, pieces: Vec<Normalized>) -> Exports<'a> {
        let mut problems = Problems::default();
        // builtins.toJSON writes keys sorted, so each piece's own look and
        // one look where each meets the one before usually say that there
        // is nothing to do, without a pass over every key on one core.
        let mut rising = true;
        let mut start = 0;
        for piece in pieces {
            problems.append(piece.problems);
            let meets_in_order =
                start == 0 || start >= scopes.len() || scopes[start - 1].key < scopes[start].key;
            rising &= piece.rising && meets_in_order;
            start += piece.len;
        }
        if rising {
            return Exports { scopes, problems };
        }
        if !scopes.is_sorted_by(|a, b| a.key <= b.key) {
            scopes.sort_by(|a, b| a.key.cmp(&b.key));
        }
        // In place, as a large clan's scopes take tens of megabytes.
        scopes.dedup_by(|scope, kept| {
            if scope.key != kept.key {
                return false;
            }
            kept.hosts.append(&mut scope.hosts);
            sort_without_repeats(&mut kept.hosts);
            kept.peers.append(&mut scope.peers);
            sort_without_repeats(&mut kept.peers);
            kept.priority = kept.priority.max(scope.priority);
            true
        });
        Exports { scopes, problems }
    }

    pub fn host_count(&self) -> usize {
        self.scopes.iter().map(|s| s.hosts.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// A change to rising scopes, given the first scope of the second piece.
    type Change = fn(&mut [ScopeHosts<'static>], usize);

    /// `count` scopes whose keys rise, one host each.
    fn rising(count: usize) -> Vec<ScopeHosts<'static>> {
        (0..count)
            .map(|i| ScopeHosts {
                key: Cow::Owned(format!("web:main:server:m{i:06}")),
                hosts: vec![Cow::Owned(format!("h{i}.clan"))],
                ..ScopeHosts::default()
            })
            .collect()
    }

    /// What canonicalising must give: each key once, in order, with the
    /// hosts of all its scopes, sorted.
    fn merged_by_key(scopes: &[ScopeHosts<'_>]) -> Vec<(String, Vec<String>)> {
        let mut by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for scope in scopes {
            let hosts = by_key.entry(scope.key.to_string()).or_default();
            hosts.extend(scope.hosts.iter().map(|h| h.to_string()));
        }
        by_key
            .into_iter()
            .map(|(key, hosts)| (key, hosts.into_iter().collect()))
            .collect()
    }

    #[test]
    fn scopes_out_of_order_or_repeated_where_pieces_meet_are_sorted_and_merged() {
        // Enough scopes to be normalised in pieces, each rising by itself.
        let count = CANONICAL_PIECES * 1000;
        let first_of_second_piece = count.div_ceil(CANONICAL_PIECES);
        let cases: [(&str, Change); 4] = [
            ("in order", |_, _| {}),
            ("a key repeated across a meeting", |scopes, at| {
                scopes[at].key = scopes[at - 1].key.clone();
            }),
            ("two keys swapped across a meeting", |scopes, at| {
                scopes.swap(at - 1, at);
            }),
            ("a key repeated inside a piece", |scopes, _| {
                scopes[5].key = scopes[4].key.clone();
            }),
        ];
        for (case, change) in cases {
            let mut scopes = rising(count);
            change(&mut scopes, first_of_second_piece);
            let expected = merged_by_key(&scopes);
            let exports = Exports::canonicalize(scopes).unwrap();
            let canonical: Vec<(String, Vec<String>)> = exports
                .scopes
                .iter()
                .map(|s| {
                    let hosts = s.hosts.iter().map(|h| h.to_string()).collect();
                    (s.key.to_string(), hosts)
                })
                .collect();
            assert_eq!(canonical, expected, "{case}");
        }
    }
}
