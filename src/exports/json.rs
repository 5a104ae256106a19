//! Streaming JSON reader for exports: only `endpoints.hosts`, `peer.hosts` and
//! `networking.priority` (raw exports) or `hosts`, `peers` and `priority`
//! (projected exports) are read; every other value is skipped unparsed.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::{Peer, ScopeHosts};

pub fn parse(bytes: &[u8]) -> Result<Vec<ScopeHosts<'_>>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let scopes = de.deserialize_map(ExportsVisitor)?;
    de.end()?;
    Ok(scopes)
}

struct ExportsVisitor;

impl<'de> Visitor<'de> for ExportsVisitor {
    type Value = Vec<ScopeHosts<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object mapping scope keys to exports")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut scopes = Vec::new();
        // Keys and hosts as `Text`: a bare `Cow<str>` always allocates.
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let value: Option<ScopeValue<'de>> = map.next_value().map_err(|e| {
                de::Error::custom(format!("scope {}: {e}", crate::name::Quoted(&key)))
            })?;
            let scope = match value {
                Some(value) => value.into_scope(key),
                None => ScopeHosts {
                    key,
                    ..ScopeHosts::default()
                },
            };
            scopes.push(scope);
        }
        Ok(scopes)
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
    fn into_scope(self, key: Cow<'a, str>) -> ScopeHosts<'a> {
        let hosts: Vec<Cow<'a, str>> = self
            .hosts
            .into_iter()
            .chain(self.endpoints.and_then(|e| e.hosts))
            .flat_map(|Hosts(list)| list)
            .map(|Text(host)| host)
            .collect();
        let projected = self.peers.into_iter().flatten().map(|p| match p {
            ProjectedPeer::Value(v) => Peer::Value(v),
            ProjectedPeer::Missing { missing } => Peer::Unavailable(missing),
        });
        let raw = self
            .peer
            .and_then(|p| p.hosts)
            .into_iter()
            .flatten()
            .map(|h| match h {
                RawPeerHost::Plain(v) => Peer::Value(v),
                RawPeerHost::Var(v) => Peer::Unavailable(Cow::Owned(format!(
                    // Word for word what the Nix projection says without a reader.
                    "var {}/{}/{}: not read (only the clan service's projection reads vars)",
                    v.machine, v.generator, v.file
                ))),
                RawPeerHost::Other => {
                    Peer::Unavailable(Cow::Borrowed("a peer.hosts entry of unknown shape"))
                }
            });
        ScopeHosts {
            key,
            hosts,
            peers: projected.chain(raw).collect(),
            priority: self.priority.or(self.networking.and_then(|n| n.priority)),
            machine_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names without escapes point into the input: a million of them copied
    /// was most of a large zone's memory.
    #[test]
    fn keys_and_hosts_are_borrowed_unless_escaped() {
        let json = br#"{"a:b:c:alpha": {"endpoints": {"hosts": ["music.clan", "w\u0069ki.clan"]},
            "peer": {"hosts": [{"plain": "200::1"}]}}, "a:b:c:\u0062eta": {"hosts": ["x.clan"]}}"#;
        let scopes = parse(json).unwrap();
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
        let scopes = parse(raw.as_bytes()).unwrap();
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
        parse(json.as_bytes())
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

    #[test]
    fn names_the_scope_on_type_errors() {
        let err = parse(br#"{"a:b:c:d": {"endpoints": {"hosts": [1]}}}"#).unwrap_err();
        assert!(err.to_string().contains("a:b:c:d"), "{err}");
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"{} x").is_err());
    }
}
