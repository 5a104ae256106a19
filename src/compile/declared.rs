//! Records the clan declares beside its endpoints (the service's `records`
//! setting, `zone --records`): names and values checked as strictly as
//! exports, then against the zone the exports make. Every problem names
//! the source `settings` and the record's name.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use crate::dns::ip_text::IpText;
use crate::dns::name::{self, Domain};
use crate::dns::problem::{ProblemKind, Problems};
use crate::dns::rdata::{self, Rdata, Srv};
use crate::exports::records::RecordsInput;

/// The source declared records name in problems, the manifest and `explain`.
pub const SOURCE: &str = "settings";

/// The record types a clan may declare.
pub const TYPES: [&str; 5] = ["A", "AAAA", "CNAME", "TXT", "SRV"];

/// Declared records, each name's values checked on their own: sorted by
/// name, then type, then value.
pub fn check(
    input: &RecordsInput,
    domain: &Domain,
    problems: &mut Problems,
) -> Vec<(String, Rdata)> {
    let mut records = Vec::new();
    let mut seen = BTreeSet::new();
    for (raw_name, types) in input {
        let service_labels = types.keys().all(|t| t == "TXT" || t == "SRV");
        let name = match name::normalize_record_name(raw_name, service_labels) {
            Ok(name) => name,
            Err(e) => {
                problems.add(SOURCE, Some(raw_name), ProblemKind::RecordName(e));
                continue;
            }
        };
        let mut problem = |kind| problems.add(SOURCE, Some(&name), kind);
        if !seen.insert(name.clone()) {
            problem(ProblemKind::DeclaredTwice);
            continue;
        }
        let at_apex = name == domain.as_str();
        if !at_apex && domain.relative(&name).is_none() {
            problem(ProblemKind::RecordOutsideDomain);
            continue;
        }
        if at_apex && types.keys().any(|t| t != "TXT") {
            problem(ProblemKind::RecordAtApex);
            continue;
        }
        if types.contains_key("CNAME") && types.len() > 1 {
            problem(ProblemKind::CnameNotAlone);
            continue;
        }
        if types.contains_key("SRV") && !name::is_service_name(&name) {
            problem(ProblemKind::RecordValue {
                kind: "SRV".into(),
                reason: "an SRV record's name starts with two service labels, as in \
                         _ldap._tcp.<domain>"
                    .into(),
            });
            continue;
        }
        for (kind, value) in types {
            match values(kind, value) {
                Ok(list) if list.is_empty() => problem(ProblemKind::RecordValue {
                    kind: kind.clone(),
                    reason: "the list is empty (hint: remove the type, or give it a value)".into(),
                }),
                Ok(list) => records.extend(list.into_iter().map(|data| (name.clone(), data))),
                Err(ValueError::Type) => problem(ProblemKind::RecordType { kind: kind.clone() }),
                Err(ValueError::Value(reason)) => problem(ProblemKind::RecordValue {
                    kind: kind.clone(),
                    reason,
                }),
            }
        }
    }
    records.sort_unstable();
    records.dedup();
    records
}

enum ValueError {
    Type,
    Value(String),
}

/// An SRV value as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SrvInput {
    priority: u16,
    weight: u16,
    port: u16,
    target: String,
}

/// A TXT value: one string, or the strings of one record.
#[derive(Deserialize)]
#[serde(untagged)]
enum TxtInput {
    One(String),
    Strings(Vec<String>),
}

fn values(kind: &str, value: &serde_json::Value) -> Result<Vec<Rdata>, ValueError> {
    let shape = |expected: &str| {
        ValueError::Value(format!(
            "expected {expected}, found {}",
            crate::dns::name::Quoted(&value.to_string())
        ))
    };
    // Read from the value where it is (`&Value` deserializes): 10,000
    // declared records are not copied to be read.
    let list = |expected| value.as_array().ok_or_else(|| shape(expected));
    let strings = |expected| -> Result<Vec<String>, ValueError> {
        Vec::<String>::deserialize(value).map_err(|_| shape(expected))
    };
    let value_error = ValueError::Value;
    match kind {
        "A" => strings("a list of IPv4 addresses")?
            .iter()
            .map(|text| address::<Ipv4Addr>(text, "IPv4").map(Rdata::A))
            .collect::<Result<_, _>>()
            .map_err(value_error),
        "AAAA" => strings("a list of IPv6 addresses")?
            .iter()
            .map(|text| address::<Ipv6Addr>(text, "IPv6").map(Rdata::Aaaa))
            .collect::<Result<_, _>>()
            .map_err(value_error),
        "CNAME" => {
            let target = String::deserialize(value).map_err(|_| shape("one target name"))?;
            let target = name::normalize_host(&target)
                .map_err(|e| value_error(format!("the target: {e}")))?
                .into_owned();
            Ok(vec![Rdata::Cname(target)])
        }
        "TXT" => list("a list of strings (or of lists of strings)")?
            .iter()
            .map(|item| {
                let strings = match TxtInput::deserialize(item) {
                    Ok(TxtInput::One(text)) => vec![text],
                    Ok(TxtInput::Strings(strings)) => strings,
                    Err(_) => return Err(shape("a list of strings (or of lists of strings)")),
                };
                rdata::check_txt(&strings).map_err(value_error)?;
                Ok(Rdata::Txt(strings))
            })
            .collect(),
        "SRV" => list("a list of {priority, weight, port, target}")?
            .iter()
            .map(|item| {
                let srv = SrvInput::deserialize(item).map_err(|e| {
                    value_error(format!(
                        "{e} (hint: each SRV value is {{\"priority\": 10, \"weight\": 5, \
                         \"port\": 389, \"target\": \"alpha.<domain>\"}})"
                    ))
                })?;
                let target = name::normalize_host(&srv.target)
                    .map_err(|e| value_error(format!("the target: {e}")))?
                    .into_owned();
                Ok(Rdata::Srv(Srv {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target,
                }))
            })
            .collect(),
        _ => Err(ValueError::Type),
    }
}

/// An address in its one canonical text.
fn address<A: std::str::FromStr + Into<IpAddr> + Copy>(
    text: &str,
    family: &str,
) -> Result<A, String> {
    let parsed: Option<A> = text.parse().ok();
    match parsed {
        Some(address) if IpText::of(&address.into()).as_str() == text => Ok(address),
        Some(address) => Err(format!(
            "{} is not written canonically (hint: write {})",
            name::Quoted(text),
            address.into()
        )),
        None => Err(format!("{} is not an {family} address", name::Quoted(text))),
    }
}

/// What the exports make of a name, for the checks against them.
pub trait ZoneNames {
    /// The scope exporting `host` as an endpoint.
    fn endpoint_scope(&self, host: &str) -> Option<&str>;
    /// A scope of the machine named `machine`, if there is such a machine.
    fn machine_scope(&self, machine: &str) -> Option<&str>;
}

/// Checks the declared records against the exports: a declared name is
/// neither an endpoint nor a machine's name, and a CNAME below the domain
/// points at a name the zone holds that is no declared CNAME (no chains,
/// so no loops).
pub fn check_against(
    records: &[(String, Rdata)],
    domain: &Domain,
    zone: &impl ZoneNames,
    problems: &mut Problems,
) {
    let declared: BTreeMap<&str, bool> = records
        .iter()
        .map(|(name, data)| (name.as_str(), data.is_cname()))
        .collect();
    for name in declared.keys() {
        if let Some(scope) = zone.endpoint_scope(name) {
            problems.add(
                SOURCE,
                Some(name),
                ProblemKind::RecordConflict {
                    what: "an endpoint".into(),
                    other_scope: scope.to_owned(),
                },
            );
        }
        if let Some(scope) = domain
            .relative(name)
            .and_then(|machine| zone.machine_scope(machine))
        {
            problems.add(
                SOURCE,
                Some(name),
                ProblemKind::RecordConflict {
                    what: "a machine's own name".into(),
                    other_scope: scope.to_owned(),
                },
            );
        }
    }
    for (name, data) in records {
        let Rdata::Cname(target) = data else { continue };
        let Some(relative) = domain.relative(target) else {
            continue;
        };
        let reason = match declared.get(target.as_str()) {
            Some(true) => {
                Some("it is a declared CNAME itself (hint: point both at the final name)")
            }
            Some(false) => None,
            None if zone.endpoint_scope(target).is_some()
                || zone.machine_scope(relative).is_some() =>
            {
                None
            }
            None => Some(
                "no endpoint, machine or declared record has that name (hint: fix the \
                 target, or declare the name)",
            ),
        };
        if let Some(reason) = reason {
            problems.add(
                SOURCE,
                Some(name),
                ProblemKind::CnameTarget {
                    target: target.clone(),
                    reason: reason.into(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::records;

    fn checked(json: &str) -> Result<Vec<(String, Rdata)>, Vec<String>> {
        let input = records::parse(json.as_bytes()).unwrap();
        let domain = Domain::parse("clan").unwrap();
        let mut problems = Problems::default();
        let list = check(&input, &domain, &mut problems);
        if problems.is_empty() {
            Ok(list)
        } else {
            Err(problems
                .into_sorted()
                .iter()
                .map(|p| format!("{} {}", p.host.as_deref().unwrap_or(""), p.kind.code()))
                .collect())
        }
    }

    #[test]
    fn reads_every_type() {
        let list = checked(
            r#"{"Printer.clan": {"A": ["192.168.1.20"]},
                "nas.clan": {"A": ["192.168.1.21"], "AAAA": ["fd00::21"]},
                "git.clan": {"CNAME": "Forge.clan."},
                "_ldap._tcp.clan": {"SRV": [{"priority": 10, "weight": 5, "port": 389, "target": "alpha.clan"}]},
                "clan": {"TXT": ["v=spf1 -all", ["a", "b"]]}}"#,
        )
        .unwrap();
        let text: Vec<String> = list
            .iter()
            .map(|(n, d)| format!("{n} {} {d}", d.kind()))
            .collect();
        assert_eq!(
            text,
            [
                "_ldap._tcp.clan SRV 10 5 389 alpha.clan.",
                "clan TXT \"a\" \"b\"",
                "clan TXT \"v=spf1 -all\"",
                "git.clan CNAME forge.clan.",
                "nas.clan A 192.168.1.21",
                "nas.clan AAAA fd00::21",
                "printer.clan A 192.168.1.20",
            ]
        );
    }

    #[test]
    fn refuses_with_codes() {
        for (json, expected) in [
            (
                r#"{"p.org": {"A": ["1.2.3.4"]}}"#,
                "p.org record-outside-domain",
            ),
            (r#"{"p.clan": {"A": ["1.2.3.04"]}}"#, "p.clan record-value"),
            (r#"{"p.clan": {"A": "1.2.3.4"}}"#, "p.clan record-value"),
            (
                r#"{"p.clan": {"AAAA": ["FD00::1"]}}"#,
                "p.clan record-value",
            ),
            (r#"{"p.clan": {"MX": ["10 m.clan"]}}"#, "p.clan record-type"),
            (
                r#"{"p.clan": {"CNAME": "x.org", "TXT": ["y"]}}"#,
                "p.clan cname-not-alone",
            ),
            (r#"{"clan": {"CNAME": "x.org"}}"#, "clan record-at-apex"),
            (r#"{"_x.clan": {"A": ["1.2.3.4"]}}"#, "_x.clan record-name"),
            (
                r#"{"*.p.clan": {"A": ["1.2.3.4"]}}"#,
                "*.p.clan record-name",
            ),
            (
                r#"{"p.clan": {"TXT": ["say \"hi\""]}}"#,
                "p.clan record-value",
            ),
            (r#"{"p.clan": {"TXT": []}}"#, "p.clan record-value"),
            (r#"{"x._tcp.clan": {"SRV": []}}"#, "x._tcp.clan record-name"),
            (
                r#"{"_x.clan": {"SRV": [{"priority": 1, "weight": 1, "port": 1, "target": "a.clan"}]}}"#,
                "_x.clan record-value",
            ),
            (
                r#"{"_x._tcp.clan": {"SRV": [{"priority": 1, "weight": 1, "port": 70000, "target": "a.clan"}]}}"#,
                "_x._tcp.clan record-value",
            ),
            (
                r#"{"p.clan": {"A": ["1.2.3.4"]}, "P.clan.": {"A": ["1.2.3.5"]}}"#,
                "p.clan declared-twice",
            ),
        ] {
            let errors = checked(json).unwrap_err();
            assert_eq!(errors, [expected], "{json}");
        }
    }

    struct Names;
    impl ZoneNames for Names {
        fn endpoint_scope(&self, host: &str) -> Option<&str> {
            (host == "music.clan").then_some("music:a:server:alpha")
        }
        fn machine_scope(&self, machine: &str) -> Option<&str> {
            (machine == "alpha").then_some("music:a:server:alpha")
        }
    }

    #[test]
    fn checks_against_the_exports() {
        let domain = Domain::parse("clan").unwrap();
        let input = records::parse(
            br#"{"music.clan": {"TXT": ["x"]}, "alpha.clan": {"A": ["1.2.3.4"]},
                 "a.clan": {"CNAME": "b.clan"}, "b.clan": {"CNAME": "music.clan"},
                 "c.clan": {"CNAME": "nowhere.clan"}, "d.clan": {"CNAME": "alpha.clan"},
                 "e.clan": {"CNAME": "example.org"}}"#,
        )
        .unwrap();
        let mut problems = Problems::default();
        let list = check(&input, &domain, &mut problems);
        assert!(problems.is_empty());
        check_against(&list, &domain, &Names, &mut problems);
        let found: Vec<String> = problems
            .into_sorted()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].contains("\"a.clan\"") && found[0].contains("declared CNAME itself"));
        assert!(found[1].contains("\"alpha.clan\"") && found[1].contains("music:a:server:alpha"));
        assert!(found[2].contains("\"c.clan\"") && found[2].contains("[cname-target]"));
        assert!(found[3].contains("\"music.clan\"") && found[3].contains("[record-conflict]"));
    }
}
