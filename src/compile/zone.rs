//! The data model at the centre: canonical exports in, a validated zone out.
//!
//! `Zone::compile` applies the built-in service's CNAME rule (README.md: each
//! internal host a CNAME to the machine of its scope) plus our validation,
//! and never picks a silent winner: a problem is an error naming scope and
//! host. Every problem of a run is reported together, with those found
//! while the exports were canonicalised.

use std::collections::HashSet;

use std::collections::HashMap;

use crate::compile::addresses::{self, Addresses, NetworkChoice};
use crate::compile::declared::{self, ZoneNames};
use crate::compile::host_sort::{self, Entry};
use crate::dns::codes::codes;
use crate::dns::name::{Domain, NameFilter, NameHash};
use crate::dns::problem::{ProblemKind, Problems};
use crate::dns::rdata::Rdata;
use crate::error::Error;
use crate::exports::canonical::{Exports, Scope};
use crate::exports::records::RecordsInput;
use crate::sys::halves::{self, Slots};

/// All problems found, or nothing.
fn into_result(problems: Problems) -> Result<(), Error> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Exports(problems.into_sorted()))
}

/// Where each record's run of sorted entries starts; problems for a host
/// two machines claim and for a host that shadows a machine.
fn find_runs(
    entries: &[Entry<'_>],
    scopes: &[Scope<'_>],
    domain: &Domain,
    shadowing: &HashSet<&str, NameHash>,
    problems: &mut Problems,
) -> Vec<u32> {
    let machine_of = |e: &Entry| scopes[e.scope as usize].machine().unwrap_or_default();
    let mut run_starts: Vec<u32> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let run = run_starts.last().map(|&start| &entries[start as usize]);
        match run {
            Some(first) if !entry.new_host => {
                debug_assert_eq!(first.host(), entry.host());
                if machine_of(first) != machine_of(entry) {
                    problems.add(
                        &scopes[entry.scope as usize].key,
                        Some(entry.host()),
                        ProblemKind::ClaimedTwice {
                            machine: machine_of(entry).to_owned(),
                            other_machine: machine_of(first).to_owned(),
                            other_scope: scopes[first.scope as usize].key.to_string(),
                        },
                    );
                }
            }
            _ => {
                run_starts.push(index as u32);
                // Usually empty: then no host is read here at all.
                let relative = || domain.relative(entry.host()).unwrap_or_default();
                if !shadowing.is_empty() && shadowing.contains(relative()) {
                    problems.add(
                        &scopes[entry.scope as usize].key,
                        Some(entry.host()),
                        ProblemKind::ShadowsMachine {
                            machine: relative().to_owned(),
                        },
                    );
                }
            }
        }
    }
    run_starts
}

/// Why a host is not in the zone although it was exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// The host is not below the clan domain; another resolver answers it.
    OutsideDomain,
    /// The host is its own machine's name; a CNAME to itself would loop.
    OwnMachineName,
}

codes!(SkipReason {
    OutsideDomain => "outside-domain",
    OwnMachineName => "own-machine-name",
});

impl SkipReason {
    /// What it means, for people (`explain`).
    pub fn meaning(self) -> &'static str {
        match self {
            SkipReason::OutsideDomain => "not below the clan domain",
            SkipReason::OwnMachineName => {
                "it is its own machine's name, which has address records instead"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped<'e> {
    pub host: &'e str,
    pub scope: &'e str,
    pub reason: SkipReason,
}

/// The compiled zone: CNAMEs sorted by host, the machines' address records,
/// and what was left out and why.
#[derive(Debug)]
pub struct Zone<'e> {
    pub domain: Domain,
    scopes: &'e [Scope<'e>],
    entries: Vec<Entry<'e>>,
    /// Index in `entries` where each record's run begins.
    run_starts: Vec<u32>,
    pub skipped: Vec<Skipped<'e>>,
    pub addresses: Addresses<'e>,
    /// The records the clan declares (`compile::declared`), sorted.
    pub declared: Vec<(String, Rdata)>,
}

/// `<host>. CNAME <machine>.<domain>.`, with every scope that exported it.
#[derive(Debug, Clone)]
pub struct Record<'z, 'e> {
    pub host: &'e str,
    scopes: &'e [Scope<'e>],
    entries: &'z [Entry<'e>],
}

impl<'e> Record<'_, 'e> {
    /// The machine the record's CNAME names: its first scope's. Found when
    /// asked (the manifest never does), a look at a scope elsewhere in
    /// memory for each of a million records.
    pub fn machine(&self) -> &'e str {
        self.scopes[self.entries[0].scope as usize]
            .machine()
            .unwrap_or_default()
    }

    pub fn sources(&self) -> impl Iterator<Item = &'e str> + '_ {
        self.entries
            .iter()
            .map(|e| &*self.scopes[e.scope as usize].key)
    }

    /// The sources as indices into `Exports::scopes`.
    pub fn source_indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().map(|e| e.scope)
    }
}

/// The machine names of `scopes`, one per scope that has one.
fn machine_names<'e>(scopes: &'e [Scope<'e>]) -> impl Iterator<Item = &'e str> {
    scopes
        .iter()
        .filter_map(Scope::machine)
        .filter(|m| !m.is_empty())
}

/// The CNAMEs to machines: the exported hosts sorted, where each record's
/// run of them starts, what was skipped, and the problems found.
struct Cnames<'e> {
    entries: Vec<Entry<'e>>,
    run_starts: Vec<u32>,
    skipped: Vec<Skipped<'e>>,
    problems: Problems,
}

/// What one part of the scopes gives the CNAMEs: their entries in input
/// order, what was skipped, the problems, and the hosts that the filter of
/// machine names let through.
#[derive(Default)]
struct Collected<'e> {
    skipped: Vec<Skipped<'e>>,
    problems: Problems,
    maybe_machines: HashSet<&'e str, NameHash>,
}

impl<'e> Collected<'e> {
    /// The entries of `scopes`, which begin at index `first` of the
    /// exports' scopes, pushed to `entries` (room for a host each).
    fn of(
        scopes: &'e [Scope<'e>],
        first: usize,
        domain: &Domain,
        machine_filter: &NameFilter,
        entries: &mut Slots<'_, Entry<'e>>,
    ) -> Collected<'e> {
        let mut collected = Collected::default();
        let Collected {
            skipped,
            problems,
            maybe_machines,
        } = &mut collected;
        for (index, scope) in scopes.iter().enumerate() {
            let key: &str = &scope.key;
            // Keys reach manifests, terminals and logs: printable ASCII only.
            let printable = key.bytes().all(|b| b.is_ascii_graphic());
            let Some(machine) = scope.machine().filter(|_| printable) else {
                problems.add(key, None, ProblemKind::ScopeKey);
                continue;
            };
            if scope.hosts.is_empty() {
                continue;
            }
            let machine_error = if machine.is_empty() {
                Some(ProblemKind::NoMachine)
            } else {
                domain
                    .check_machine(machine)
                    .err()
                    .map(ProblemKind::MachineName)
            };
            for host in &scope.hosts {
                let host: &str = host;
                if host == domain.as_str() {
                    problems.add(key, Some(host), ProblemKind::HostIsDomain);
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
                if let Some(error) = &machine_error {
                    // Once per scope is enough to say what to fix.
                    problems.add(key, Some(host), error.clone());
                    break;
                }
                if relative == "*" {
                    problems.add(key, Some(host), ProblemKind::WildcardAtApex);
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
                if machine_filter.may_contain(relative) {
                    maybe_machines.insert(relative);
                }
                entries.push(Entry::new(host, (first + index) as u32));
            }
        }
        collected
    }

    /// `other`, collected from the scopes after these, added after them.
    fn append(&mut self, mut other: Collected<'e>) {
        self.skipped.append(&mut other.skipped);
        self.problems.append(other.problems);
        self.maybe_machines.extend(other.maybe_machines);
    }
}

impl<'e> Cnames<'e> {
    fn compile(exports: &'e Exports<'e>, domain: &Domain) -> Cnames<'e> {
        let scopes = &exports.scopes[..];
        // A host equal to some machine's own name would shadow that machine.
        // Hosts are checked in input order (sorted, they are scattered over
        // memory) against a filter of the machines' names; the few it lets
        // through are then checked exactly, and reported below, once per
        // record.
        let (front, back) = halves::halves(scopes, |half| {
            let mut filter = NameFilter::with_capacity(scopes.len());
            machine_names(half).for_each(|m| filter.insert(m));
            filter
        });
        let machine_filter = front.union(&back);
        // The scopes are read in parts of about as many hosts each, which
        // two cores take in turn (most scopes of a clan with networks have
        // no hosts; the other core's work beside this one varies).
        let (mut entries, parts) = halves::fill_by_weight(
            scopes,
            |scope| scope.hosts.len(),
            |part, first, entries| Collected::of(part, first, domain, &machine_filter, entries),
        );
        let collected = parts
            .into_iter()
            .reduce(|mut all, part| {
                all.append(part);
                all
            })
            .unwrap_or_default();
        let Collected {
            mut skipped,
            mut problems,
            maybe_machines,
        } = collected;
        // The exact check reads every machine name again; it runs beside the
        // sort, whose first step (the partition) is on one core.
        let ((), shadowing) = halves::join(
            || host_sort::sort(&mut entries),
            || -> HashSet<&str, NameHash> {
                if maybe_machines.is_empty() {
                    return HashSet::default();
                }
                machine_names(scopes)
                    .filter(|m| maybe_machines.contains(m))
                    .collect()
            },
        );

        let run_starts = find_runs(&entries, scopes, domain, &shadowing, &mut problems);
        skipped.sort_unstable();
        Cnames {
            entries,
            run_starts,
            skipped,
            problems,
        }
    }
}

impl<'e> Zone<'e> {
    /// The zone with the default choice of address records.
    pub fn compile(exports: &'e Exports<'e>, domain: &Domain) -> Result<Zone<'e>, Error> {
        Zone::compile_with(
            exports,
            domain,
            &NetworkChoice::default(),
            &RecordsInput::new(),
        )
    }

    pub fn compile_with(
        exports: &'e Exports<'e>,
        domain: &Domain,
        networks: &NetworkChoice,
        records: &RecordsInput,
    ) -> Result<Zone<'e>, Error> {
        let scopes = &exports.scopes[..];
        if u32::try_from(scopes.len()).is_err() {
            return Err(Error::input("more than 2^32 scopes"));
        }
        // The CNAMEs need nothing of the address records or the declared
        // ones: those are checked on the second core.
        let (cnames, (addresses, (declared, machines), other_problems)) = halves::join(
            || Cnames::compile(exports, domain),
            || {
                let mut problems = Problems::default();
                let addresses = addresses::select(exports, domain, networks, &mut problems);
                let declared = declared::check(records, domain, &mut problems);
                let machines = declared_machines(&declared, domain, scopes);
                (addresses, (declared, machines), problems)
            },
        );
        let mut problems = exports.problems.clone();
        problems.append(cnames.problems);
        problems.append(other_problems);
        let zone = Zone {
            domain: domain.clone(),
            scopes,
            entries: cnames.entries,
            run_starts: cnames.run_starts,
            skipped: cnames.skipped,
            addresses,
            declared,
        };
        if !zone.declared.is_empty() {
            let names = ExportedNames {
                zone: &zone,
                machines,
            };
            declared::check_against(&zone.declared, domain, &names, &mut problems);
        }
        into_result(problems)?;
        Ok(zone)
    }

    /// The records in host order.
    pub fn records(&self) -> impl Iterator<Item = Record<'_, 'e>> {
        let ends = self
            .run_starts
            .get(1..)
            .unwrap_or_default()
            .iter()
            .map(|&end| end as usize)
            .chain(std::iter::once(self.entries.len()));
        self.run_starts
            .iter()
            .zip(ends)
            .map(|(&start, end)| &self.entries[start as usize..end])
            .map(|run| Record {
                host: run[0].host(),
                scopes: self.scopes,
                entries: run,
            })
    }

    pub fn record_count(&self) -> usize {
        self.run_starts.len()
    }

    /// How many records have hosts that sort before `host`.
    pub fn records_before(&self, host: &str) -> usize {
        self.run_starts
            .partition_point(|&start| self.entries[start as usize].host() < host)
    }
}

/// The exports' names, for checking declared records against them.
struct ExportedNames<'z, 'e> {
    zone: &'z Zone<'e>,
    /// Each machine's first scope (`declared_machines`).
    machines: HashMap<&'e str, &'e str, NameHash>,
}

/// Each machine's first scope, for the machines a declared name or CNAME
/// target could be: one pass over the scopes, a look at a filter of the
/// wanted names each (in cache, where the set is not), the set only for
/// those it lets through; none when nothing is declared.
fn declared_machines<'e>(
    declared: &[(String, Rdata)],
    domain: &Domain,
    scopes: &'e [Scope<'e>],
) -> HashMap<&'e str, &'e str, NameHash> {
    let mut machines = HashMap::default();
    if declared.is_empty() {
        return machines;
    }
    let wanted: HashSet<&str, NameHash> = declared
        .iter()
        .flat_map(|(name, data)| {
            let target = match data {
                Rdata::Cname(target) => Some(target.as_str()),
                _ => None,
            };
            [Some(name.as_str()), target]
        })
        .flatten()
        .filter_map(|name| domain.relative(name))
        .filter(|relative| !relative.contains('.'))
        .collect();
    let mut filter = NameFilter::with_capacity(wanted.len());
    wanted.iter().for_each(|name| filter.insert(name));
    let is_wanted = |m: &&str| filter.may_contain(m) && wanted.contains(m);
    for scope in scopes {
        if let Some(machine) = scope.machine().filter(is_wanted) {
            machines.entry(machine).or_insert(&*scope.key);
        }
    }
    machines
}

impl ZoneNames for ExportedNames<'_, '_> {
    fn endpoint_scope(&self, host: &str) -> Option<&str> {
        let start = *self.zone.run_starts.get(self.zone.records_before(host))?;
        let entry = &self.zone.entries[start as usize];
        (entry.host() == host).then(|| &*self.zone.scopes[entry.scope as usize].key)
    }

    fn machine_scope(&self, machine: &str) -> Option<&str> {
        self.machines.get(machine).copied()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::exports::{Peer, ScopeHosts};

    fn scopes(list: &[(&'static str, &[&'static str])]) -> Vec<ScopeHosts<'static>> {
        list.iter()
            .map(|(key, hosts)| ScopeHosts {
                key: Cow::Borrowed(key),
                hosts: hosts.iter().map(|h| Cow::Borrowed(*h)).collect(),
                ..ScopeHosts::default()
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
            (
                "music:a:server:alpha",
                &["Music.clan.", "alpha.clan", "x.org"],
            ),
            ("media:a:server:alpha", &["music.clan"]),
            ("wiki:a:server:beta", &["wiki.clan", "wiki.clan"]),
        ]))
        .unwrap();
        let domain = Domain::parse("clan").unwrap();
        let zone = Zone::compile(&exports, &domain).unwrap();
        let records: Vec<_> = zone
            .records()
            .map(|r| (r.host, r.machine(), r.sources().collect::<Vec<_>>()))
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

    /// Address records are chosen beside the records' runs; their problems
    /// fail the compile all the same.
    #[test]
    fn address_problems_fail_the_compile() {
        let network = |key: &'static str| ScopeHosts {
            key: Cow::Borrowed(key),
            priority: Some(2000),
            ..ScopeHosts::default()
        };
        let peer = |key: &'static str, value: &'static str| ScopeHosts {
            key: Cow::Borrowed(key),
            peers: vec![Peer::Value(Cow::Borrowed(value))],
            ..ScopeHosts::default()
        };
        let exports = Exports::canonicalize(vec![
            network("ygg:a::"),
            peer("ygg:a:peer:alpha", "200::1"),
            network("other:b::"),
            peer("other:b:peer:alpha", "200::9"),
        ])
        .unwrap();
        let domain = Domain::parse("clan").unwrap();
        let error = Zone::compile(&exports, &domain).unwrap_err().to_string();
        assert!(error.contains("networks-disagree"), "{error}");
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
            (&[("web:::", &["web.clan"][..])][..], "names no machine"),
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

    /// Every refusal is typed: its code names the rule, its scope and host
    /// where it was found.
    #[test]
    fn problems_carry_stable_codes() {
        for (list, code) in [
            (&[("web:::", &["web.clan"][..])][..], "no-machine"),
            (&[("a:b:c", &["web.clan"][..])][..], "scope-key"),
            (&[("a:b:c:Al_pha", &["web.clan"][..])][..], "machine-name"),
            (&[("a:b:c:alpha", &["clan"][..])][..], "host-is-domain"),
            (&[("a:b:c:alpha", &["bad\"name.clan"][..])][..], "host-name"),
            (
                &[("a:b:c:alpha", &["beta.clan"][..]), ("d:e:f:beta", &[][..])][..],
                "shadows-machine",
            ),
            (
                &[
                    ("a:b:c:alpha", &["w.clan"][..]),
                    ("d:e:f:beta", &["w.clan"][..]),
                ][..],
                "claimed-twice",
            ),
        ] {
            let exports = Exports::canonicalize(scopes(list));
            let domain = Domain::parse("clan").unwrap();
            let error = exports.and_then(|e| Zone::compile(&e, &domain).map(|_| ()));
            let Err(Error::Exports(problems)) = error else {
                panic!("{list:?}: not a typed problem: {error:?}");
            };
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].kind.code(), code);
            assert!(problems[0].to_string().ends_with(&format!("[{code}]")));
        }
    }

    /// Enough scopes for two cores to share the canonicalizing, with
    /// something to fix or refuse in each half, and many hosts that a filter
    /// of the machines' names lets through by chance.
    #[test]
    fn a_large_clan_reads_like_a_small_one() {
        let machines = 1 << 13;
        let keys: Vec<String> = (0..machines)
            .map(|i| format!("web:x:server:m{i}"))
            .collect();
        let hosts: Vec<[String; 3]> = (0..machines)
            .map(|i| {
                [
                    format!("Svc{i}.clan"),
                    format!("a{i}.clan"),
                    format!("svc{i}.clan"),
                ]
            })
            .collect();
        let raw = || -> Vec<ScopeHosts<'_>> {
            keys.iter()
                .zip(&hosts)
                .map(|(key, hosts)| ScopeHosts {
                    key: Cow::Borrowed(key),
                    hosts: hosts.iter().map(|h| Cow::Borrowed(h.as_str())).collect(),
                    ..ScopeHosts::default()
                })
                .collect()
        };
        let domain = Domain::parse("clan").unwrap();
        let exports = Exports::canonicalize(raw()).unwrap();
        assert!(
            exports
                .scopes
                .iter()
                .all(|s| s.hosts.len() == 2 && s.hosts.is_sorted())
        );
        let zone = Zone::compile(&exports, &domain).unwrap();
        assert_eq!(zone.record_count(), 2 * machines);

        // A host named like another machine, in the first scope and the last:
        // exactly those two are refused.
        let mut shadowing = raw();
        shadowing[0].hosts.push(Cow::Borrowed("m5.clan"));
        shadowing[machines - 1].hosts.push(Cow::Borrowed("m7.clan"));
        let exports = Exports::canonicalize(shadowing).unwrap();
        let Err(Error::Exports(problems)) = Zone::compile(&exports, &domain) else {
            panic!("shadowing hosts accepted");
        };
        let found: Vec<_> = problems
            .iter()
            .map(|p| (p.scope.as_str(), p.host.as_deref().unwrap(), p.kind.code()))
            .collect();
        assert_eq!(
            found,
            [
                (keys[0].as_str(), "m5.clan", "shadows-machine"),
                (keys[machines - 1].as_str(), "m7.clan", "shadows-machine")
            ]
        );

        // Bad names in either half are all reported.
        let mut bad = raw();
        bad[0].hosts.push(Cow::Borrowed("bad name.clan"));
        bad[machines - 1].hosts.push(Cow::Borrowed("bad name.clan"));
        let exports = Exports::canonicalize(bad).unwrap();
        let Err(Error::Exports(problems)) = Zone::compile(&exports, &domain) else {
            panic!("bad names accepted");
        };
        let scopes: Vec<_> = problems.iter().map(|p| p.scope.as_str()).collect();
        assert_eq!(scopes, [keys[0].as_str(), keys[machines - 1].as_str()]);
    }

    #[test]
    fn refuses_machine_names_over_the_length_limit() {
        let domain = Domain::parse(&vec!["d".repeat(63); 3].join(".")).unwrap();
        let host = format!("w.{domain}");
        let key = format!("a:b:c:{}", "m".repeat(62));
        let raw = vec![ScopeHosts {
            key: Cow::Borrowed(key.as_str()),
            hosts: vec![Cow::Borrowed(host.as_str())],
            ..ScopeHosts::default()
        }];
        let exports = Exports::canonicalize(raw).unwrap();
        let err = Zone::compile(&exports, &domain).unwrap_err().to_string();
        assert!(
            err.contains("254 characters") && err.contains(&key),
            "{err}"
        );
    }

    #[test]
    fn service_wide_scope_with_external_hosts_is_fine() {
        let exports = Exports::canonicalize(scopes(&[("web:::", &["example.org"])])).unwrap();
        let domain = Domain::parse("clan").unwrap();
        let zone = Zone::compile(&exports, &domain).unwrap();
        assert_eq!(zone.record_count(), 0);
        assert_eq!(zone.skipped.len(), 1);
    }
}
