//! The data model at the centre: canonical exports in, a validated zone out.
//!
//! `Exports::canonicalize` turns whatever was read into one canonical form
//! (scopes sorted and merged, hosts normalised, sorted and deduplicated), so
//! every later stage is independent of input order, formatting and duplicates.
//! `Zone::compile` applies the rules of DESIGN §2 plus our validation and
//! never picks a silent winner: a problem is an error naming scope and host.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::error::Error;
use crate::exports::ScopeHosts;
use crate::name::{self, Domain};

/// At most this many problems are printed; the rest are counted.
const MAX_PROBLEMS_SHOWN: usize = 20;

/// One scope key with its normalised hosts, sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<'a> {
    pub key: Cow<'a, str>,
    pub hosts: Vec<Cow<'a, str>>,
}

impl Scope<'_> {
    /// The fourth field of `service:instance:role:machine`, if the key has four.
    pub fn machine(&self) -> Option<&str> {
        let mut fields = self.key.split(':');
        let machine = fields.nth(3)?;
        fields.next().is_none().then_some(machine)
    }
}

/// The canonical exports: the only input the zone depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exports<'a> {
    pub scopes: Vec<Scope<'a>>,
}

/// Collects problems so one run reports all of them, in a stable order.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, scope: &str, host: Option<&str>, message: impl std::fmt::Display) {
        self.0.push(match host {
            Some(host) => format!("scope {scope:?}, host {host:?}: {message}"),
            None => format!("scope {scope:?}: {message}"),
        });
    }

    fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let total = self.0.len();
        let mut shown: Vec<String> = self.0.into_iter().take(MAX_PROBLEMS_SHOWN).collect();
        if total > MAX_PROBLEMS_SHOWN {
            shown.push(format!(
                "... and {} more problems",
                total - MAX_PROBLEMS_SHOWN
            ));
        }
        Err(Error::Invalid(shown))
    }
}

impl<'a> Exports<'a> {
    /// Normalises every host name and merges duplicate scopes. Fails with every
    /// malformed host name, each naming its scope.
    pub fn canonicalize(raw: Vec<ScopeHosts<'a>>) -> Result<Exports<'a>, Error> {
        let mut problems = Problems::default();
        let mut scopes: Vec<Scope<'a>> = Vec::with_capacity(raw.len());
        for ScopeHosts { key, hosts } in raw {
            let mut normalized = Vec::with_capacity(hosts.len());
            for host in hosts {
                match host {
                    Cow::Borrowed(s) => match name::normalize_host(s) {
                        Ok(n) => normalized.push(n),
                        Err(e) => problems.add(&key, Some(s), e),
                    },
                    Cow::Owned(s) => match name::normalize_host(&s) {
                        Ok(n) => normalized.push(Cow::Owned(n.into_owned())),
                        Err(e) => problems.add(&key, Some(&s), e),
                    },
                }
            }
            scopes.push(Scope {
                key,
                hosts: normalized,
            });
        }
        problems.into_result()?;
        scopes.sort_by(|a, b| a.key.cmp(&b.key));
        // Merge scopes that appear more than once (a JSON key repeated).
        let mut merged: Vec<Scope<'a>> = Vec::with_capacity(scopes.len());
        for scope in scopes {
            match merged.last_mut() {
                Some(last) if last.key == scope.key => last.hosts.extend(scope.hosts),
                _ => merged.push(scope),
            }
        }
        for scope in &mut merged {
            scope.hosts.sort_unstable();
            scope.hosts.dedup();
        }
        Ok(Exports { scopes: merged })
    }

    pub fn host_count(&self) -> usize {
        self.scopes.iter().map(|s| s.hosts.len()).sum()
    }
}

/// Why a host is not in the zone although it was exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// The host is not below the clan domain; another resolver answers it.
    OutsideDomain,
    /// The host is its own machine's name; a CNAME to itself would loop.
    OwnMachineName,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::OutsideDomain => "outside-domain",
            SkipReason::OwnMachineName => "own-machine-name",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped<'e> {
    pub host: &'e str,
    pub scope: &'e str,
    pub reason: SkipReason,
}

/// One (host, scope) pair that yields a CNAME; records are runs of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry<'e> {
    host: &'e str,
    scope: &'e str,
    machine: &'e str,
}

/// The compiled zone: CNAMEs sorted by host, and what was left out and why.
#[derive(Debug)]
pub struct Zone<'e> {
    pub domain: Domain,
    entries: Vec<Entry<'e>>,
    pub skipped: Vec<Skipped<'e>>,
}

/// `<host>. CNAME <machine>.<domain>.`, with every scope that exported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'z, 'e> {
    pub host: &'e str,
    pub machine: &'e str,
    entries: &'z [Entry<'e>],
}

impl<'e> Record<'_, 'e> {
    pub fn sources(&self) -> impl Iterator<Item = &'e str> + '_ {
        self.entries.iter().map(|e| e.scope)
    }
}

impl<'e> Zone<'e> {
    pub fn compile(exports: &'e Exports<'_>, domain: &Domain) -> Result<Zone<'e>, Error> {
        let mut problems = Problems::default();
        let machines: BTreeSet<&str> = exports
            .scopes
            .iter()
            .filter_map(Scope::machine)
            .filter(|m| !m.is_empty())
            .collect();
        let mut entries = Vec::with_capacity(exports.host_count());
        let mut skipped = Vec::new();

        for scope in &exports.scopes {
            let key: &str = &scope.key;
            let Some(machine) = scope.machine() else {
                problems.add(
                    key,
                    None,
                    "a scope key needs exactly four ':'-separated fields \
                     (service:instance:role:machine)",
                );
                continue;
            };
            let mut machine_checked = false;
            for host in &scope.hosts {
                let host: &str = host;
                if host == domain.as_str() {
                    problems.add(
                        key,
                        Some(host),
                        "the host is the clan domain itself, which cannot be a CNAME \
                         (hint: export a name below it, such as www.<domain>)",
                    );
                    continue;
                }
                let Some(relative) = domain.relative(host) else {
                    skipped.push(Skipped {
                        host,
                        scope: key,
                        reason: SkipReason::OutsideDomain,
                    });
                    continue;
                };
                if !machine_checked {
                    machine_checked = true;
                    if machine.is_empty() {
                        problems.add(
                            key,
                            Some(host),
                            "the scope names no machine, so the host has no target \
                             (hint: export endpoints from a machine's perInstance, \
                             not from a service-wide scope)",
                        );
                    } else if let Err(e) = name::check_label(machine) {
                        problems.add(
                            key,
                            Some(host),
                            format_args!("the machine name is not a DNS label: {e}"),
                        );
                    }
                }
                if machine.is_empty() || name::check_label(machine).is_err() {
                    continue;
                }
                if relative == machine {
                    skipped.push(Skipped {
                        host,
                        scope: key,
                        reason: SkipReason::OwnMachineName,
                    });
                    continue;
                }
                if machines.contains(relative) {
                    problems.add(
                        key,
                        Some(host),
                        format_args!(
                            "the host is the name of machine {relative:?} and would \
                             shadow it (hint: rename the endpoint)"
                        ),
                    );
                    continue;
                }
                entries.push(Entry {
                    host,
                    scope: key,
                    machine,
                });
            }
        }

        entries.sort_unstable();
        for pair in entries.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.host == b.host && a.machine != b.machine {
                problems.add(
                    b.scope,
                    Some(b.host),
                    format_args!(
                        "the host is claimed by machine {:?} (scope {:?}) and machine \
                         {:?} (scope {:?}) (hint: export it from one machine only)",
                        a.machine, a.scope, b.machine, b.scope
                    ),
                );
            }
        }
        problems.into_result()?;
        skipped.sort_unstable();
        Ok(Zone {
            domain: domain.clone(),
            entries,
            skipped,
        })
    }

    /// The records in host order.
    pub fn records(&self) -> impl Iterator<Item = Record<'_, 'e>> {
        self.entries
            .chunk_by(|a, b| a.host == b.host)
            .map(|run| Record {
                host: run[0].host,
                machine: run[0].machine,
                entries: run,
            })
    }

    pub fn record_count(&self) -> usize {
        self.records().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[(&'static str, &[&'static str])]) -> Vec<ScopeHosts<'static>> {
        list.iter()
            .map(|(key, hosts)| ScopeHosts {
                key: Cow::Borrowed(key),
                hosts: hosts.iter().map(|h| Cow::Borrowed(*h)).collect(),
            })
            .collect()
    }

    fn compile_err(list: &[(&'static str, &[&'static str])]) -> String {
        let exports = Exports::canonicalize(scopes(list));
        let exports = match exports {
            Ok(e) => e,
            Err(e) => return e.to_string(),
        };
        let domain = Domain::parse("clan").unwrap();
        Zone::compile(&exports, &domain).unwrap_err().to_string()
    }

    #[test]
    fn merges_sources_and_skips() {
        let exports = Exports::canonicalize(scopes(&[
            ("music:a:server:alpha", &["Music.clan.", "alpha.clan", "x.org"]),
            ("media:a:server:alpha", &["music.clan"]),
            ("wiki:a:server:beta", &["wiki.clan", "wiki.clan"]),
        ]))
        .unwrap();
        let domain = Domain::parse("clan").unwrap();
        let zone = Zone::compile(&exports, &domain).unwrap();
        let records: Vec<_> = zone
            .records()
            .map(|r| (r.host, r.machine, r.sources().collect::<Vec<_>>()))
            .collect();
        assert_eq!(
            records,
            vec![
                (
                    "music.clan",
                    "alpha",
                    vec!["media:a:server:alpha", "music:a:server:alpha"]
                ),
                ("wiki.clan", "beta", vec!["wiki:a:server:beta"]),
            ]
        );
        let skipped: Vec<_> = zone.skipped.iter().map(|s| (s.host, s.reason)).collect();
        assert_eq!(
            skipped,
            vec![
                ("alpha.clan", SkipReason::OwnMachineName),
                ("x.org", SkipReason::OutsideDomain)
            ]
        );
    }

    #[test]
    fn conflicts_name_both_scopes() {
        let err = compile_err(&[
            ("a:x:server:alpha", &["music.clan"]),
            ("b:x:server:beta", &["music.clan"]),
        ]);
        assert!(err.contains("a:x:server:alpha") && err.contains("b:x:server:beta"));
        assert!(err.contains("music.clan"), "{err}");
    }

    #[test]
    fn refuses_bad_scopes_and_targets() {
        for (list, needle) in [
            (
                &[("web:::", &["web.clan"][..])][..],
                "names no machine",
            ),
            (&[("a:b:c", &["web.clan"][..])][..], "four"),
            (&[("a:b:c:d:e", &[][..])][..], "four"),
            (&[("a:b:c:Al_pha", &["web.clan"][..])][..], "machine name"),
            (&[("a:b:c:alpha", &["clan"][..])][..], "domain itself"),
            (
                &[("a:b:c:alpha", &["beta.clan"][..]), ("d:e:f:beta", &[][..])][..],
                "shadow",
            ),
            (&[("a:b:c:alpha", &["bad\"name.clan"][..])][..], "forbidden"),
        ] {
            let err = compile_err(list);
            assert!(err.contains(needle), "{list:?}: {err}");
            assert!(err.contains(list[0].0), "{list:?}: {err}");
        }
    }

    #[test]
    fn service_wide_scope_with_external_hosts_is_fine() {
        let exports =
            Exports::canonicalize(scopes(&[("web:::", &["example.org"])])).unwrap();
        let domain = Domain::parse("clan").unwrap();
        let zone = Zone::compile(&exports, &domain).unwrap();
        assert_eq!(zone.record_count(), 0);
        assert_eq!(zone.skipped.len(), 1);
    }
}
