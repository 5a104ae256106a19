//! Streaming JSON reader for exports: only `endpoints.hosts`, `peer.hosts` and
//! `networking.priority` (raw exports) or `hosts`, `peers` and `priority`
//! (projected exports) are read; every other value is skipped unparsed.
//! Documents of the usual shapes are read by a quicker reader of their own
//! (`scan`); this one, with serde_json, reads every document that one gives
//! up on.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::{Peer, ScopeHosts};
use crate::sys::halves;

/// From this size on, a document is read in two halves, on two cores.
const HALVES_FROM: usize = 1 << 20;

mod scan;

/// How many pieces the general reader's scopes are finished in.
const FINISHED_PIECES: usize = 16;

/// The scopes of a document, and what `finish` made of each piece of them,
/// in order, on two cores.
pub fn parse<'a, R: Send>(
    bytes: &'a [u8],
    finish: impl Fn(&mut [ScopeHosts<'a>]) -> R + Sync,
) -> Result<(Vec<ScopeHosts<'a>>, Vec<R>), serde_json::Error> {
    if let Some(read) = scan::read(bytes, &finish) {
        return Ok(read);
    }
    let mut scopes = match (bytes.len() >= HALVES_FROM)
        .then(|| parse_in_halves(bytes))
        .flatten()
    {
        Some(scopes) => scopes,
        None => parse_whole(bytes)?,
    };
    let finished = halves::pieces_mut(&mut scopes, FINISHED_PIECES, finish);
    Ok((scopes, finished))
}

fn parse_whole(bytes: &[u8]) -> Result<Vec<ScopeHosts<'_>>, serde_json::Error> {
    let mut scopes = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.deserialize_map(ExportsVisitor {
        scopes: &mut scopes,
        between_entries: &mut true,
    })?;
    de.end()?;
    Ok(scopes)
}

/// The document read as two halves on two cores, split at a comma between
/// two of its top-level entries. `None` if no such comma is found near the
/// middle or either half does not read, and then the whole is read as one,
/// which also words any error as it always has.
///
/// Same result as one reading: the first half is read just like it, and
/// each entry of the second by itself (its value one level less deep, so a
/// value nested 128 deep, beyond serde_json's limit in one reading, reads).
fn parse_in_halves(bytes: &[u8]) -> Option<Vec<ScopeHosts<'_>>> {
    read_split(bytes, split_point(bytes)?)
}

/// The halves before and after `comma`, each on its own core.
fn read_split(bytes: &[u8], comma: usize) -> Option<Vec<ScopeHosts<'_>>> {
    let (first, second) = halves::join(
        || read_cut_short(&bytes[..comma]),
        || read_entries(bytes, comma + 1),
    );
    let mut scopes = first?;
    scopes.extend(second?);
    Some(scopes)
}

/// How many commas are tried, in all, as the places to split a document.
const SPLIT_TRIES: usize = 1024;
/// How many entries must follow a comma for it to be tried: a comma inside
/// a scope's value is found out when that value's object ends.
const ENTRIES_TO_TRY: usize = 16;
/// How far past a comma its entries are read: a document made to look like
/// entries after every comma costs at most `SPLIT_TRIES` times this (64 MB)
/// more reading, and one whose entries are larger is read by one core.
const TRY_WINDOW: usize = 64 << 10;

/// The first comma from `from` on that entries seem to follow, for both
/// readers: `entries_follow(comma, end)` says whether entries follow
/// `comma` in the document up to `end`. Each comma tried takes one of
/// `tries`. Only the reading of the part before proves the comma is
/// between top-level entries.
fn split_comma(
    bytes: &[u8],
    mut from: usize,
    tries: &mut usize,
    entries_follow: impl Fn(usize, usize) -> bool,
) -> Option<usize> {
    while *tries > 0 {
        *tries -= 1;
        let comma = from + bytes[from..].iter().position(|&b| b == b',')?;
        if entries_follow(comma, bytes.len().min(comma + 1 + TRY_WINDOW)) {
            return Some(comma);
        }
        from = comma + 1;
    }
    None
}

/// The split for this reader; `read_cut_short` proves it.
fn split_point(bytes: &[u8]) -> Option<usize> {
    let mut tries = SPLIT_TRIES;
    split_comma(bytes, bytes.len() / 2, &mut tries, |comma, end| {
        entries_follow(&bytes[..end], comma + 1)
    })
}

/// Whether `ENTRIES_TO_TRY` entries, or entries up to the end of `bytes`,
/// read from `at` on.
fn entries_follow(bytes: &[u8], mut at: usize) -> bool {
    for _ in 0..ENTRIES_TO_TRY {
        match read_entry(bytes, at) {
            Some((_, Some(next))) => at = next,
            Some((_, None)) => return true,
            None => return false,
        }
    }
    true
}

/// The first half: the document cut short just before a comma. If the comma
/// is between two top-level entries, reading fails at the cut, looking for
/// what follows an entry; cut anywhere else, it fails inside a key or value.
fn read_cut_short(prefix: &[u8]) -> Option<Vec<ScopeHosts<'_>>> {
    let mut scopes = Vec::new();
    let mut between_entries = true;
    let mut de = serde_json::Deserializer::from_slice(prefix);
    let read = de.deserialize_map(ExportsVisitor {
        scopes: &mut scopes,
        between_entries: &mut between_entries,
    });
    match read {
        Err(e) if e.is_eof() && between_entries && !scopes.is_empty() => Some(scopes),
        _ => None,
    }
}

/// The second half: entries from `at` (just after a comma) up to the
/// closing brace, which must end the document.
fn read_entries(bytes: &[u8], mut at: usize) -> Option<Vec<ScopeHosts<'_>>> {
    let mut scopes = Vec::new();
    loop {
        let (scope, next) = read_entry(bytes, at)?;
        scopes.push(scope);
        match next {
            Some(next) => at = next,
            None => return Some(scopes),
        }
    }
}

/// One `"key": value` entry at `at`, and where the next begins (after its
/// comma), or `None` after the last (its closing brace ends the document).
fn read_entry(bytes: &[u8], at: usize) -> Option<(ScopeHosts<'_>, Option<usize>)> {
    let (Text(key), at) = read_value::<Text>(bytes, at)?;
    let at = skip_whitespace(bytes, at);
    if bytes.get(at) != Some(&b':') {
        return None;
    }
    let (value, at) = read_value::<Option<ScopeValue>>(bytes, at + 1)?;
    let scope = ScopeValue::scope(key, value);
    let at = skip_whitespace(bytes, at);
    match bytes.get(at)? {
        b',' => Some((scope, Some(at + 1))),
        b'}' => (skip_whitespace(bytes, at + 1) == bytes.len()).then_some((scope, None)),
        _ => None,
    }
}

/// One JSON value at `at` (after any whitespace), and where it ends.
fn read_value<'de, T: Deserialize<'de>>(bytes: &'de [u8], at: usize) -> Option<(T, usize)> {
    let mut values = serde_json::Deserializer::from_slice(bytes.get(at..)?).into_iter::<T>();
    let value = values.next()?.ok()?;
    Some((value, at + values.byte_offset()))
}

/// Past JSON's whitespace.
fn skip_whitespace(bytes: &[u8], at: usize) -> usize {
    at + bytes
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count()
}

/// Reads the top-level object into `scopes`, which keeps what was read
/// when the reading fails, and says whether it stopped between entries
/// (a document cut short there fails looking for what follows one).
struct ExportsVisitor<'v, 'de> {
    scopes: &'v mut Vec<ScopeHosts<'de>>,
    between_entries: &'v mut bool,
}

impl<'de> Visitor<'de> for ExportsVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object mapping scope keys to exports")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Keys and hosts as `Text`: a bare `Cow<str>` always allocates.
        while let Some(Text(key)) = map.next_key_seed(KeySeed(&mut *self.between_entries))? {
            let value: Option<ScopeValue<'de>> = map.next_value().map_err(|e| {
                de::Error::custom(format!("scope {}: {e}", crate::dns::name::Quoted(&key)))
            })?;
            self.scopes.push(ScopeValue::scope(key, value));
            *self.between_entries = true;
        }
        Ok(())
    }
}

/// A top-level key: from its first byte, the reader is inside an entry.
struct KeySeed<'v>(&'v mut bool);

impl<'de> de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text<'de>, D::Error> {
        *self.0 = false;
        Text::deserialize(deserializer)
    }
}

/// A scope's value: raw exports carry `endpoints.hosts`, `peer.hosts` and
/// `networking.priority`; projected ones `hosts`, `peers` and `priority`.
#[derive(Deserialize)]
#[serde(
    expecting = "the scope's exports, an object such as { \"endpoints\": { \"hosts\": [...] } }"
)]
struct ScopeValue<'a> {
    #[serde(borrow, default)]
    hosts: Option<Hosts<'a>>,
    #[serde(borrow, default)]
    endpoints: Option<Endpoints<'a>>,
    #[serde(borrow, default)]
    peers: Option<Vec<ProjectedPeer<'a>>>,
    #[serde(borrow, default)]
    peer: Option<RawPeer<'a>>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    networking: Option<Networking>,
}

#[derive(Deserialize)]
#[serde(expecting = "peer, an object with \"hosts\": [...]")]
struct RawPeer<'a> {
    #[serde(borrow, default)]
    hosts: Option<Vec<RawPeerHost<'a>>>,
}

/// clan-core's `peer.hosts` entry: `{ plain = ...; }` or `{ var = { ... }; }`;
/// a bare string is taken as plain, anything else is not an address. Read
/// by hand rather than as an untagged enum, which would buffer every entry.
enum RawPeerHost<'a> {
    Plain(Cow<'a, str>),
    Var(VarRef<'a>),
    Other,
}

impl<'a> RawPeerHost<'a> {
    fn into_peer(self) -> Peer<'a> {
        match self {
            RawPeerHost::Plain(v) => Peer::Value(v),
            RawPeerHost::Var(v) => Peer::Unavailable(Cow::Owned(format!(
                // Word for word what the Nix projection says without a reader.
                "var {}/{}/{}: not read (only the clan service's projection reads vars)",
                v.machine, v.generator, v.file
            ))),
            RawPeerHost::Other => {
                Peer::Unavailable(Cow::Borrowed("a peer.hosts entry of unknown shape"))
            }
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawPeerHost<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawPeerHostVisitor(std::marker::PhantomData))
    }
}

struct RawPeerHostVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for RawPeerHostVisitor<'a> {
    type Value = RawPeerHost<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a peer.hosts entry")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(RawPeerHost::Plain(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawPeerHost::Plain(Cow::Owned(v.to_owned())))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entry = RawPeerHost::Other;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_ref() {
                "plain" => entry = RawPeerHost::Plain(map.next_value::<Text<'a>>()?.0),
                "var" => entry = RawPeerHost::Var(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(entry)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(RawPeerHost::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(RawPeerHost::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RawPeerHost::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RawPeerHost::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RawPeerHost::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RawPeerHost::Other)
    }
}

/// A string borrowed from the input where it has no escapes (serde borrows
/// only a `Cow` field marked `borrow`; a bare `Cow<str>` is always owned).
#[derive(Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct VarRef<'a> {
    #[serde(borrow)]
    machine: Cow<'a, str>,
    #[serde(borrow)]
    generator: Cow<'a, str>,
    #[serde(borrow)]
    file: Cow<'a, str>,
}

/// The projection's `peers` entry: the value, or `{ "missing": why }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ProjectedPeer<'a> {
    #[serde(borrow)]
    Value(Cow<'a, str>),
    Missing {
        #[serde(borrow)]
        missing: Cow<'a, str>,
    },
}

#[derive(Deserialize)]
#[serde(expecting = "networking, an object with \"priority\"")]
struct Networking {
    #[serde(default)]
    priority: Option<i64>,
}

#[derive(Deserialize)]
#[serde(expecting = "endpoints, an object with \"hosts\": [...]")]
struct Endpoints<'a> {
    #[serde(borrow, default)]
    hosts: Option<Hosts<'a>>,
}

#[derive(Deserialize)]
#[serde(transparent)]
struct Hosts<'a>(#[serde(borrow)] Vec<Text<'a>>);

impl<'a> ScopeValue<'a> {
    /// The scope `key` with its value (`null`: nothing exported).
    fn scope(key: Cow<'a, str>, value: Option<Self>) -> ScopeHosts<'a> {
        match value {
            Some(value) => value.into_scope(key),
            None => ScopeHosts {
                key,
                ..ScopeHosts::default()
            },
        }
    }

    fn into_scope(self, key: Cow<'a, str>) -> ScopeHosts<'a> {
        // In place: a `Text` is a `Cow`.
        let texts = |hosts: Option<Hosts<'a>>| -> Vec<Cow<'a, str>> {
            hosts
                .map(|Hosts(list)| list.into_iter().map(|Text(host)| host).collect())
                .unwrap_or_default()
        };
        ScopeParts {
            hosts: texts(self.hosts),
            endpoint_hosts: texts(self.endpoints.and_then(|e| e.hosts)),
            peers: (self.peers.into_iter().flatten())
                .map(|p| match p {
                    ProjectedPeer::Value(v) => Peer::Value(v),
                    ProjectedPeer::Missing { missing } => Peer::Unavailable(missing),
                })
                .collect(),
            raw_peers: (self.peer.and_then(|p| p.hosts).into_iter().flatten())
                .map(RawPeerHost::into_peer)
                .collect(),
            priority: self.priority,
            networking_priority: self.networking.and_then(|n| n.priority),
        }
        .into_scope(key)
    }
}

/// A scope's value as either reader finds it, before it becomes a
/// `ScopeHosts`.
#[derive(Default)]
struct ScopeParts<'a> {
    hosts: Vec<Cow<'a, str>>,
    endpoint_hosts: Vec<Cow<'a, str>>,
    /// The projection's `peers`.
    peers: Vec<Peer<'a>>,
    /// Raw `peer.hosts`.
    raw_peers: Vec<Peer<'a>>,
    priority: Option<i64>,
    networking_priority: Option<i64>,
}

impl<'a> ScopeParts<'a> {
    /// `hosts` then `endpoints.hosts`, the projection's `peers` then raw
    /// `peer.hosts`, `priority` before `networking.priority`. Lists of the
    /// exact size: a large clan has a million hosts.
    fn into_scope(self, key: Cow<'a, str>) -> ScopeHosts<'a> {
        fn concat<T>(first: Vec<T>, second: Vec<T>) -> Vec<T> {
            // Usually one list is empty: the other is kept, trimmed in place.
            if first.is_empty() || second.is_empty() {
                let mut kept = if first.is_empty() { second } else { first };
                kept.shrink_to_fit();
                return kept;
            }
            let mut all = Vec::with_capacity(first.len() + second.len());
            all.extend(first.into_iter().chain(second));
            all
        }
        ScopeHosts {
            key,
            hosts: concat(self.hosts, self.endpoint_hosts),
            peers: concat(self.peers, self.raw_peers),
            priority: self.priority.or(self.networking_priority),
            machine_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scopes `parse` reads, finished with nothing.
    fn scopes_of(bytes: &[u8]) -> Result<Vec<ScopeHosts<'_>>, serde_json::Error> {
        parse(bytes, |_| ()).map(|(scopes, _)| scopes)
    }

    /// Names without escapes point into the input: a million of them copied
    /// was most of a large zone's memory.
    #[test]
    fn keys_and_hosts_are_borrowed_unless_escaped() {
        let json = br#"{"a:b:c:alpha": {"endpoints": {"hosts": ["music.clan", "w\u0069ki.clan"]},
            "peer": {"hosts": [{"plain": "200::1"}]}}, "a:b:c:\u0062eta": {"hosts": ["x.clan"]}}"#;
        let scopes = scopes_of(json).unwrap();
        let borrowed = |c: &Cow<str>| matches!(c, Cow::Borrowed(_));
        assert!(borrowed(&scopes[0].key) && !borrowed(&scopes[1].key));
        assert!(borrowed(&scopes[0].hosts[0]) && !borrowed(&scopes[0].hosts[1]));
        assert_eq!(scopes[0].hosts[1], "wiki.clan");
        assert!(borrowed(&scopes[1].hosts[0]));
        assert!(matches!(
            &scopes[0].peers[0],
            Peer::Value(Cow::Borrowed("200::1"))
        ));
    }

    #[test]
    fn reads_peers_and_priorities_raw_and_projected() {
        let raw = r#"{
            "ygg:net::": {"networking": {"priority": 2000, "module": "clan_lib.network.direct"}},
            "ygg:net:default:alpha": {"peer": {"hosts": [{"plain": "200::1"},
                {"var": {"machine": "alpha", "generator": "ygg", "file": "address", "flake": "/x"}}],
                "port": 22}},
            "myc:net:peer:beta": {"peers": ["4ab::2", {"missing": "var beta/myc/ip is not generated"}]},
            "myc:net::": {"priority": 800}
        }"#;
        let scopes = scopes_of(raw.as_bytes()).unwrap();
        assert_eq!(scopes[0].priority, Some(2000));
        assert_eq!(scopes[1].peers[0], Peer::Value("200::1".into()));
        assert!(
            matches!(&scopes[1].peers[1], Peer::Unavailable(why) if why.contains("alpha/ygg/address"))
        );
        assert_eq!(
            scopes[2].peers,
            vec![
                Peer::Value("4ab::2".into()),
                Peer::Unavailable("var beta/myc/ip is not generated".into())
            ]
        );
        assert_eq!(scopes[3].priority, Some(800));
    }

    fn hosts_of(json: &str) -> Vec<(String, Vec<String>)> {
        scopes_of(json.as_bytes())
            .unwrap()
            .into_iter()
            .map(|s| {
                (
                    s.key.into_owned(),
                    s.hosts.into_iter().map(Cow::into_owned).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn reads_raw_exports_and_skips_other_types() {
        let json = r#"{
            "music:main:server:alpha": {"endpoints": {"hosts": ["music.clan"]},
                                        "dataMesher": {"files": {"dns/cnames": ["abc"]}}},
            "web:::": null,
            "dm:x:default:beta": {"dataMesher": null},
            "dm:x:default:gamma": {"endpoints": null}
        }"#;
        assert_eq!(
            hosts_of(json),
            vec![
                ("music:main:server:alpha".into(), vec!["music.clan".into()]),
                ("web:::".into(), vec![]),
                ("dm:x:default:beta".into(), vec![]),
                ("dm:x:default:gamma".into(), vec![]),
            ]
        );
    }

    #[test]
    fn reads_projected_exports_with_escapes() {
        let json = r#"{"a:b:c:d": {"hosts": ["x\u002eclan"]}}"#;
        assert_eq!(
            hosts_of(json),
            vec![("a:b:c:d".into(), vec!["x.clan".into()])]
        );
    }

    /// Keys and values with commas, quotes, braces and escapes where a split
    /// might be tried, and values of every shape the reader meets.
    const TRICKY_KEYS: &[&str] = &[
        r#""a:b:c:alpha""#,
        r#""x,\"y\":{\"z\":1},\"w""#,
        r#""k:\u002c:\"q\",""#,
        r#""},\"m"  "#,
    ];
    const TRICKY_VALUES: &[&str] = &[
        "null",
        r#"{"endpoints": {"hosts": ["a.clan", "b,\"c.clan"]}, "dataMesher": null}"#,
        r#"{"hosts":["x\u002eclan"],"peers":["1::2",{"missing":"why,\"not\""}],"priority":5}"#,
        r#"{"peer":{"hosts":[{"plain":"10.0.0.1"},"2::1",[1,{"a":","}]]},"x":{"y":{"z":[",\"",{}]}}}"#,
        r#"{"networking": {"priority": 700}, "a": 1, "b": 2, "c": 3}"#,
        "{}",
    ];

    /// A document of `entries`, each a key and a value by index into
    /// `keys` and `values`; `spaced`, with whitespace around every token
    /// that may have it.
    pub(super) fn document_of(
        keys: &[&str],
        values: &[&str],
        entries: &[(usize, usize)],
        spaced: bool,
    ) -> String {
        let (sep, colon) = if spaced {
            (" ,\n  ", " : ")
        } else {
            (",", ":")
        };
        let body: Vec<String> = entries
            .iter()
            .map(|&(k, v)| format!("{}{colon}{}", keys[k], values[v]))
            .collect();
        format!("{{{}}}{}", body.join(sep), if spaced { "\n" } else { "" })
    }

    fn document(entries: &[(usize, usize)], spaced: bool) -> String {
        document_of(TRICKY_KEYS, TRICKY_VALUES, entries, spaced)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Split at every comma in turn: read in halves, a document reads as
        /// it does whole, or not at all; and it does read at every comma
        /// between two entries, so the halves are not a path never taken.
        #[test]
        fn halves_read_as_the_whole_or_not_at_all(
            entries in proptest::collection::vec((0..TRICKY_KEYS.len(), 0..TRICKY_VALUES.len()), 1..6),
            spaced: bool,
        ) {
            let doc = document(&entries, spaced);
            let whole = parse_whole(doc.as_bytes()).unwrap();
            let mut splits = 0;
            for (comma, _) in doc.match_indices(',') {
                if let Some(halves) = read_split(doc.as_bytes(), comma) {
                    proptest::prop_assert_eq!(&halves, &whole, "split at {} of {}", comma, doc);
                    splits += 1;
                }
            }
            proptest::prop_assert_eq!(splits, entries.len() - 1, "{}", doc);
        }
    }

    #[test]
    fn halves_of_a_bad_document_do_not_read() {
        let entry = r#""a:b:c:d":{"hosts":["x.clan"]}"#;
        for bad in [
            format!("{{,{entry}}}"),
            format!("{{{entry},{entry},}}"),
            format!("{{{entry},{entry}}} x"),
            format!("{{{entry},{entry}"),
            format!("{{{entry},{entry}}}}}"),
            format!("{{{entry},{entry},{{}}}}"),
            format!("[{entry},{entry}]"),
            // Cut inside a key or a value, each of these leaves a second
            // half that reads; the first must not.
            format!("{{{entry},\"b,\"x\":null}}"),
            format!("{{{entry},\"k\":[\"q,\"x\":null}}"),
        ] {
            assert!(parse_whole(bad.as_bytes()).is_err(), "{bad}");
            for (comma, _) in bad.match_indices(',') {
                assert_eq!(read_split(bad.as_bytes(), comma), None, "{bad} at {comma}");
            }
        }
    }

    #[test]
    fn a_large_document_is_split_near_its_middle() {
        let entries: Vec<String> = (0..40_000)
            .map(|i| {
                format!(r#""a:b:c:m{i}":{{"endpoints":{{"hosts":["s{i}.clan","t{i}.clan"]}}}}"#)
            })
            .collect();
        let doc = format!("{{{}}}", entries.join(","));
        assert!(doc.len() >= HALVES_FROM);
        let comma = split_point(doc.as_bytes()).unwrap();
        assert!(
            comma >= doc.len() / 2 && comma < doc.len() / 2 + 100,
            "{comma}"
        );
        assert_eq!(
            scopes_of(doc.as_bytes()).unwrap(),
            parse_whole(doc.as_bytes()).unwrap()
        );
    }

    #[test]
    fn names_the_scope_on_type_errors() {
        let err = scopes_of(br#"{"a:b:c:d": {"endpoints": {"hosts": [1]}}}"#).unwrap_err();
        assert!(err.to_string().contains("a:b:c:d"), "{err}");
        assert!(scopes_of(b"[1]").is_err());
        assert!(scopes_of(b"{} x").is_err());
    }
}
