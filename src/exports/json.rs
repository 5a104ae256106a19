//! Streaming JSON reader for exports: only `endpoints.hosts` (raw exports) or
//! `hosts` (projected exports) is read; every other value is skipped unparsed.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::ScopeHosts;
use crate::error::Error;

pub fn parse(bytes: &[u8]) -> Result<Vec<ScopeHosts<'_>>, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let scopes = de.deserialize_map(ExportsVisitor).map_err(json_error)?;
    de.end().map_err(json_error)?;
    Ok(scopes)
}

fn json_error(e: serde_json::Error) -> Error {
    Error::input(format!(
        "exports are not valid: {e} (hint: produce them with builtins.toJSON; \
         the top level must map scope keys to export values)"
    ))
}

struct ExportsVisitor;

impl<'de> Visitor<'de> for ExportsVisitor {
    type Value = Vec<ScopeHosts<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object mapping scope keys to exports")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut scopes = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value: Option<ScopeValue<'de>> = map.next_value().map_err(|e| {
                de::Error::custom(format!("scope {}: {e}", crate::name::Quoted(&key)))
            })?;
            let hosts = value.map(ScopeValue::into_hosts).unwrap_or_default();
            scopes.push(ScopeHosts { key, hosts });
        }
        Ok(scopes)
    }
}

/// A scope's value: raw exports carry `endpoints.hosts`, projected ones `hosts`.
#[derive(Deserialize)]
struct ScopeValue<'a> {
    #[serde(borrow, default)]
    hosts: Option<Hosts<'a>>,
    #[serde(borrow, default)]
    endpoints: Option<Endpoints<'a>>,
}

#[derive(Deserialize)]
struct Endpoints<'a> {
    #[serde(borrow, default)]
    hosts: Option<Hosts<'a>>,
}

#[derive(Deserialize)]
#[serde(transparent)]
struct Hosts<'a>(#[serde(borrow)] Vec<Cow<'a, str>>);

impl<'a> ScopeValue<'a> {
    fn into_hosts(self) -> Vec<Cow<'a, str>> {
        let mut hosts = self.hosts.map(|h| h.0).unwrap_or_default();
        if let Some(Hosts(more)) = self.endpoints.and_then(|e| e.hosts) {
            hosts.extend(more);
        }
        hosts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
