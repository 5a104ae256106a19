//! `dm-dns explain NAME`: why a name resolves the way it does. From a zone
//! output directory the manifest tells which scopes export the name, the
//! record it became, or why it was left out; from a signed file, a
//! `zone.conf` or an installed `zone.db`, the records alone.

use camino::Utf8Path;
use serde::Serialize;

use crate::artifacts::manifest::Manifest;
use crate::artifacts::reverse;
use crate::compile::addresses::NetworkChoice;
use crate::compile::declared;
use crate::compile::zone::Zone;
use crate::dns::name::{self, Domain, Quoted};
use crate::dns::problem::Problem;
use crate::error::Error;
use crate::exports::canonical::Exports;
use crate::exports::records::RecordsInput;
use crate::tools::query;
use crate::tools::zones;

/// The version of the JSON explanation.
pub const FORMAT: u32 = 1;

/// What is known about one name, each finding a line for people and an
/// object for `--json`.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub format: u32,
    pub name: String,
    pub domain: String,
    /// Whether the name gets any record in the zone.
    pub resolves: bool,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
pub struct Finding {
    /// `cname`, `address`, `skipped`, `skipped-address`, `target`,
    /// `outside-domain`, `problem`, `unknown` or `answer` (`--server`).
    pub kind: &'static str,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

fn finding(kind: &'static str, text: String, scopes: Vec<String>) -> Finding {
    Finding { kind, text, scopes }
}

/// Where the zone comes from.
pub enum Source<'a> {
    /// A zone output directory, a signed file, a zone.conf or a zone.db.
    Zone(&'a Utf8Path),
    /// Exports compiled on the spot, so that problems (a host claimed twice,
    /// a bad name) are explained too.
    Exports {
        bytes: &'a [u8],
        domain: &'a Domain,
        networks: &'a NetworkChoice,
        records: &'a RecordsInput,
    },
}

pub fn explain(raw: &str, source: &Source<'_>) -> Result<Explanation, Error> {
    let name = match name::normalize_endpoint(raw) {
        Ok(name) => name.into_owned(),
        // SRV and TXT names may start with service labels.
        Err(e) => name::normalize_record_name(raw, true)
            .map_err(|_| Error::input(format!("{}: {e}", Quoted(raw))))?,
    };
    let (domain, manifest, zone) = match source {
        Source::Zone(path) => {
            let (zone, manifest) = zones::load_with_manifest(path)?;
            (zone.domain.clone(), manifest, Some(zone))
        }
        Source::Exports {
            bytes,
            domain,
            networks,
            records,
        } => match compiled_manifest(bytes, domain, networks, records) {
            Ok(manifest) => ((*domain).clone(), Some(manifest), None),
            Err(Error::Exports(problems)) => {
                return Ok(from_problems(name, domain, &problems));
            }
            Err(e) => return Err(e),
        },
    };
    let mut findings = Vec::new();
    if let Some(address) = reverse::address_of(&name) {
        from_reverse(
            &name,
            address,
            &domain,
            manifest.as_ref(),
            zone.as_ref(),
            &mut findings,
        );
    } else {
        if domain.relative(&name).is_none() && name != domain.as_str() {
            findings.push(finding(
                "outside-domain",
                format!(
                    "{name} is not below {domain}: dm-dns does not answer it, the system's \
                     other nameservers do"
                ),
                Vec::new(),
            ));
        }
        match (&manifest, &zone) {
            (Some(m), _) => from_manifest(&name, &domain, m, &mut findings),
            (None, Some(zone)) => from_records(&name, zone, &mut findings),
            (None, None) => {}
        }
    }
    let resolves = findings.iter().any(|f| {
        matches!(
            f.kind,
            "cname" | "address" | "declared" | "wildcard" | "ptr"
        )
    });
    if findings.is_empty() {
        findings.push(finding(
            "unknown",
            format!(
                "no scope exports {name}{} (hint: add it to a service's endpoints.hosts on \
                 the machine that serves it)",
                if manifest.is_none() {
                    "; this file has no manifest, a zone output directory tells more"
                } else {
                    ""
                }
            ),
            Vec::new(),
        ));
    }
    Ok(Explanation {
        format: FORMAT,
        name,
        domain: domain.to_string(),
        resolves,
        findings,
    })
}

/// The manifest `dm-dns zone` would write for these exports, read back:
/// one rendering is the source of every explanation.
fn compiled_manifest(
    bytes: &[u8],
    domain: &Domain,
    networks: &NetworkChoice,
    records: &RecordsInput,
) -> Result<Manifest, Error> {
    let exports = Exports::parse(bytes)?;
    let zone = Zone::compile_with(&exports, domain, networks, records)?;
    Ok(Manifest::of(&zone, &exports))
}

/// The exports do not compile: the problems that name this host, or its
/// machine.
fn from_problems(name: String, domain: &Domain, problems: &[Problem]) -> Explanation {
    let machine = domain.relative(&name).filter(|m| !m.contains('.'));
    let findings: Vec<Finding> = problems
        .iter()
        .filter(|p| {
            p.host.as_deref() == Some(name.as_str())
                || (machine.is_some() && p.scope.rsplit(':').next() == machine)
        })
        .map(|p| {
            finding(
                "problem",
                format!("{} [{}]", p.kind, p.kind.code()),
                vec![p.scope.clone()],
            )
        })
        .collect();
    let findings = if findings.is_empty() {
        vec![finding(
            "problem",
            format!(
                "the exports do not compile ({} problem{}, none about {name}; run `dm-dns zone` \
                 to see them)",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ),
            Vec::new(),
        )]
    } else {
        findings
    };
    Explanation {
        format: FORMAT,
        name,
        domain: domain.to_string(),
        resolves: false,
        findings,
    }
}

fn owned(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|s| (*s).to_owned()).collect()
}

fn from_manifest(name: &str, domain: &Domain, manifest: &Manifest, out: &mut Vec<Finding>) {
    for record in manifest.records().filter(|r| r.host == name) {
        out.push(finding(
            "cname",
            format!("{name}. CNAME {}.", domain.machine_name(record.machine)),
            owned(&record.sources()),
        ));
    }
    for declared in manifest.declared().filter(|d| d.name == name) {
        out.push(finding(
            "declared",
            format!(
                "{name}. {} {} (declared in the service's `records` setting)",
                declared.kind, declared.data
            ),
            vec![declared::SOURCE.to_owned()],
        ));
    }
    if out.is_empty() {
        let holds = |n: &str| {
            manifest.records().any(|r| r.host == n) || manifest.declared().any(|d| d.name == n)
        };
        if let Some(wildcard) = covering_wildcard(name, domain, holds) {
            for record in manifest.records().filter(|r| r.host == wildcard) {
                out.push(finding(
                    "wildcard",
                    format!(
                        "{name} has no records of its own and matches the wildcard endpoint \
                         {wildcard}: {name}. CNAME {}.",
                        domain.machine_name(record.machine)
                    ),
                    owned(&record.sources()),
                ));
            }
        }
    }
    let machine = domain.relative(name).filter(|m| !m.contains('.'));
    let pointing: Vec<&str> = manifest
        .records()
        .filter(|r| Some(r.machine) == machine)
        .map(|r| r.host)
        .collect();
    if !pointing.is_empty() {
        out.push(finding(
            "target",
            format!(
                "{name} is machine {}'s name; {} CNAMEs point to it: {}",
                machine.unwrap_or_default(),
                pointing.len(),
                pointing.join(", ")
            ),
            Vec::new(),
        ));
    }
    for skipped in manifest.skipped().filter(|s| s.host == name) {
        out.push(finding(
            "skipped",
            format!(
                "exported but left out, {}: {}",
                skipped.reason.code(),
                skipped.reason.meaning()
            ),
            owned(&[skipped.scope]),
        ));
    }
    let Some(machine) = machine else { return };
    for address in manifest.addresses().filter(|a| a.machine == machine) {
        out.push(finding(
            "address",
            format!(
                "{name}. {} {} (network {})",
                address.family, address.address, address.network
            ),
            owned(&[address.scope]),
        ));
    }
    for skipped in manifest
        .skipped_addresses()
        .filter(|a| a.machine == machine)
    {
        out.push(finding(
            "skipped-address",
            format!(
                "address {} left out, {}: {}",
                skipped.value,
                skipped.reason.code(),
                skipped.reason.meaning()
            ),
            owned(&[skipped.scope]),
        ));
    }
}

/// A reverse name: the PTR a node derives from the zone's address records
/// with that address (where its reverse zones hold it), or that there is
/// none.
fn from_reverse(
    name: &str,
    address: std::net::IpAddr,
    domain: &Domain,
    manifest: Option<&Manifest>,
    zone: Option<&crate::artifacts::zonefile::ZoneData>,
    out: &mut Vec<Finding>,
) {
    let text = address.to_string();
    let mut named: Vec<(String, Vec<String>)> = match (manifest, zone) {
        (Some(m), _) => m
            .addresses()
            .filter(|a| a.address == text)
            .map(|a| (domain.machine_name(a.machine), vec![a.scope.to_owned()]))
            .chain(
                m.declared()
                    .filter(|d| matches!(d.kind, "A" | "AAAA") && d.data == text)
                    .map(|d| (d.name.to_owned(), vec![declared::SOURCE.to_owned()])),
            )
            .collect(),
        (None, Some(zone)) => zone
            .addresses()
            .iter()
            .filter(|(_, a)| *a == address)
            .map(|(n, _)| (n.clone(), Vec::new()))
            .collect(),
        (None, None) => Vec::new(),
    };
    named.sort();
    if named.is_empty() {
        out.push(finding(
            "reverse-unknown",
            format!(
                "no address record of the zone is {address}: nodes give it no name (NXDOMAIN \
                 where their reverse zones hold it)"
            ),
            Vec::new(),
        ));
    }
    for (target, scopes) in named {
        out.push(finding(
            "ptr",
            format!(
                "{name}. PTR {target}. (the address of {target}; a node answers it where its \
                 reverse zones hold it)"
            ),
            scopes,
        ));
    }
}

/// The wildcard `*.<ancestor>` that answers for `name` as DNS defines it
/// (RFC 4592): the nearest ancestor of `name` that holds records or has a
/// wildcard below it decides; `holds` says whether a name holds records.
/// (Names that only have names below them are not seen here.)
fn covering_wildcard(name: &str, domain: &Domain, holds: impl Fn(&str) -> bool) -> Option<String> {
    if holds(name) {
        return None;
    }
    let mut ancestor = name;
    while let Some((_, parent)) = ancestor.split_once('.') {
        if parent != domain.as_str() && domain.relative(parent).is_none() {
            return None;
        }
        let wildcard = format!("*.{parent}");
        if holds(&wildcard) {
            return Some(wildcard);
        }
        if holds(parent) || parent == domain.as_str() {
            return None;
        }
        ancestor = parent;
    }
    None
}

fn from_records(name: &str, zone: &crate::artifacts::zonefile::ZoneData, out: &mut Vec<Finding>) {
    if let Some(machine) = zone.target(name) {
        out.push(finding(
            "cname",
            format!("{name}. CNAME {}.", zone.domain.machine_name(machine)),
            Vec::new(),
        ));
    }
    for (record_name, address) in zone.addresses().iter().filter(|(n, _)| n == name) {
        let family = if address.is_ipv4() { "A" } else { "AAAA" };
        out.push(finding(
            "address",
            format!("{record_name}. {family} {address}"),
            Vec::new(),
        ));
    }
    for (record_name, data) in zone.others().iter().filter(|(n, _)| n == name) {
        out.push(finding(
            "declared",
            format!("{record_name}. {} {data}", data.kind()),
            Vec::new(),
        ));
    }
    if out.is_empty() {
        let holds = |n: &str| {
            zone.target(n).is_some()
                || zone.addresses().iter().any(|(a, _)| a == n)
                || zone.others().iter().any(|(o, _)| o == n)
        };
        if let Some(wildcard) = covering_wildcard(name, &zone.domain, holds)
            && let Some(machine) = zone.target(&wildcard)
        {
            out.push(finding(
                "wildcard",
                format!(
                    "{name} matches the wildcard {wildcard}: {name}. CNAME {}.",
                    zone.domain.machine_name(machine)
                ),
                Vec::new(),
            ));
        }
    }
}

impl Explanation {
    /// What a DNS server answers for the name now (A and AAAA asked).
    pub fn ask(
        &mut self,
        server: std::net::SocketAddr,
        timeout: std::time::Duration,
    ) -> Result<(), Error> {
        let mut records: Vec<String> = Vec::new();
        let mut status = "NOERROR";
        for qtype in [query::A, query::AAAA] {
            let answer = query::ask(server, &self.name, qtype, timeout).map_err(Error::input)?;
            status = answer.status;
            for record in answer.records {
                if !records.contains(&record) {
                    records.push(record);
                }
            }
        }
        let text = if records.is_empty() {
            format!("{server} answers now: {status}, no records")
        } else {
            format!("{server} answers now: {}", records.join("; "))
        };
        self.findings.push(finding("answer", text, Vec::new()));
        Ok(())
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&f.text);
            if !f.scopes.is_empty() {
                out.push_str(&format!("\n    from {}", f.scopes.join(", ")));
            }
            out.push('\n');
        }
        out
    }
}
