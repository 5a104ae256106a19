//! What `zone` refuses in the exports, typed: the scope key, the host, and a
//! kind with a stable code. Error text (and, as they come, `--json` output and
//! `dm-dns explain`) is rendered from here only. The codes are listed in
//! docs/architecture.md, "Problem codes".

use std::fmt;

use crate::dns::name::{NameError, Quoted};

/// One problem with one scope (and host, where there is one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub scope: String,
    pub host: Option<String>,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// `host-name`: not an LDH host name (characters, lengths, wildcards).
    HostName(NameError),
    /// `scope-key`: the key is not `service:instance:role:machine`.
    ScopeKey,
    /// `no-machine`: a service-wide scope exports a host inside the domain.
    NoMachine,
    /// `machine-name`: the machine field is no DNS label, or
    /// `<machine>.<domain>` is longer than a name may be.
    MachineName(NameError),
    /// `host-is-domain`: the host is the clan domain itself.
    HostIsDomain,
    /// `claimed-twice`: two machines export the same host.
    ClaimedTwice {
        machine: String,
        other_machine: String,
        other_scope: String,
    },
    /// `shadows-machine`: the host is another machine's own name.
    ShadowsMachine { machine: String },
    /// `networks-disagree`: two networks of the same rank give one machine
    /// different addresses.
    NetworksDisagree {
        machine: String,
        other_scope: String,
    },
    /// `wildcard-at-apex`: `*.<domain>` would answer every name below it.
    WildcardAtApex,
    /// `record-name`: a declared record's name is no DNS name.
    RecordName(NameError),
    /// `declared-twice`: two keys of the records name the same name.
    DeclaredTwice,
    /// `record-outside-domain`: a declared name not in the clan domain.
    RecordOutsideDomain,
    /// `record-at-apex`: the domain itself takes only TXT records.
    RecordAtApex,
    /// `cname-not-alone`: a CNAME and other records at one name.
    CnameNotAlone,
    /// `record-type`: a type that cannot be declared.
    RecordType { kind: String },
    /// `record-value`: a value that breaks its type's rules.
    RecordValue { kind: String, reason: String },
    /// `record-conflict`: a declared name the exports give already.
    RecordConflict { what: String, other_scope: String },
    /// `cname-target`: a declared CNAME pointing nowhere, or at a CNAME.
    CnameTarget { target: String, reason: String },
}

impl ProblemKind {
    /// A stable identifier: scripts and docs may rely on it.
    pub fn code(&self) -> &'static str {
        match self {
            ProblemKind::HostName(_) => "host-name",
            ProblemKind::ScopeKey => "scope-key",
            ProblemKind::NoMachine => "no-machine",
            ProblemKind::MachineName(_) => "machine-name",
            ProblemKind::HostIsDomain => "host-is-domain",
            ProblemKind::ClaimedTwice { .. } => "claimed-twice",
            ProblemKind::ShadowsMachine { .. } => "shadows-machine",
            ProblemKind::NetworksDisagree { .. } => "networks-disagree",
            ProblemKind::WildcardAtApex => "wildcard-at-apex",
            ProblemKind::RecordName(_) => "record-name",
            ProblemKind::DeclaredTwice => "declared-twice",
            ProblemKind::RecordOutsideDomain => "record-outside-domain",
            ProblemKind::RecordAtApex => "record-at-apex",
            ProblemKind::CnameNotAlone => "cname-not-alone",
            ProblemKind::RecordType { .. } => "record-type",
            ProblemKind::RecordValue { .. } => "record-value",
            ProblemKind::RecordConflict { .. } => "record-conflict",
            ProblemKind::CnameTarget { .. } => "cname-target",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::HostName(e) => write!(f, "{e}"),
            ProblemKind::ScopeKey => f.write_str(
                "a scope key needs exactly four ':'-separated fields of printable ASCII, \
                 without spaces (hint: keys look like service:instance:role:machine, with \
                 empty fields meaning all, e.g. web:::)",
            ),
            ProblemKind::NoMachine => f.write_str(
                "the scope names no machine, so the host has no target (hint: export \
                 endpoints from a machine's perInstance, not from a service-wide scope)",
            ),
            ProblemKind::MachineName(e) => write!(f, "the machine name cannot be used in DNS: {e}"),
            ProblemKind::HostIsDomain => f.write_str(
                "the host is the clan domain itself, which cannot be a CNAME (hint: export \
                 a name below it, such as www.<domain>)",
            ),
            ProblemKind::ClaimedTwice {
                machine,
                other_machine,
                other_scope,
            } => write!(
                f,
                "the host is claimed by machine {} (scope {}) and machine {} (this scope) \
                 (hint: export it from one machine only)",
                Quoted(other_machine),
                Quoted(other_scope),
                Quoted(machine),
            ),
            ProblemKind::NetworksDisagree {
                machine,
                other_scope,
            } => write!(
                f,
                "machine {} gets other addresses here than from scope {}, a network of the \
                 same priority (hint: give the networks different networking.priority, or \
                 choose with the service's `networks` setting)",
                Quoted(machine),
                Quoted(other_scope)
            ),
            ProblemKind::WildcardAtApex => f.write_str(
                "a wildcard directly below the clan domain would answer every name, typos \
                 included (hint: put it below a name of its own, such as *.s3.<domain>)",
            ),
            ProblemKind::RecordName(e) => write!(f, "the declared name cannot be used: {e}"),
            ProblemKind::DeclaredTwice => f.write_str(
                "the name is declared twice, spelled differently (hint: merge the two \
                 entries of `records`)",
            ),
            ProblemKind::RecordOutsideDomain => f.write_str(
                "the declared name is not in the clan domain (hint: declare names ending \
                 in .<domain>; other names belong to their own DNS)",
            ),
            ProblemKind::RecordAtApex => f.write_str(
                "the clan domain itself takes only TXT records (hint: declare the other \
                 records at a name below it)",
            ),
            ProblemKind::CnameNotAlone => f.write_str(
                "a CNAME must be the only record at its name (hint: declare the other \
                 records at the CNAME's target)",
            ),
            ProblemKind::RecordType { kind } => write!(
                f,
                "records of type {} cannot be declared (hint: the types are A, AAAA, CNAME, \
                 TXT and SRV)",
                Quoted(kind)
            ),
            ProblemKind::RecordValue { kind, reason } => write!(f, "{kind}: {reason}"),
            ProblemKind::RecordConflict { what, other_scope } => write!(
                f,
                "the declared name is also {what}, from scope {} (hint: remove it from \
                 `records`, or rename the other)",
                Quoted(other_scope)
            ),
            ProblemKind::CnameTarget { target, reason } => {
                write!(
                    f,
                    "the CNAME's target {} is refused: {reason}",
                    Quoted(target)
                )
            }
            ProblemKind::ShadowsMachine { machine } => write!(
                f,
                "the host is the name of machine {} and would shadow it (hint: rename the \
                 endpoint)",
                Quoted(machine)
            ),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scope {}", Quoted(&self.scope))?;
        if let Some(host) = &self.host {
            write!(f, ", host {}", Quoted(host))?;
        }
        write!(f, ": {} [{}]", self.kind, self.kind.code())
    }
}

/// Every problem of one run, sorted and deduplicated, so the report depends
/// on neither input order nor repetition. Shown up to a limit; all are kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// At most this many are printed; the rest are counted.
    pub const SHOWN: usize = 20;

    pub fn add(&mut self, scope: &str, host: Option<&str>, kind: ProblemKind) {
        self.0.push(Problem {
            scope: scope.to_owned(),
            host: host.map(str::to_owned),
            kind,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn append(&mut self, mut other: Problems) {
        self.0.append(&mut other.0);
    }

    pub fn into_sorted(mut self) -> Vec<Problem> {
        self.0.sort_unstable();
        self.0.dedup();
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_scope_host_message_and_code() {
        let problem = Problem {
            scope: "b:x:server:beta".into(),
            host: Some("music.clan".into()),
            kind: ProblemKind::ClaimedTwice {
                machine: "beta".into(),
                other_machine: "alpha".into(),
                other_scope: "a:x:server:alpha".into(),
            },
        };
        assert_eq!(
            problem.to_string(),
            "scope \"b:x:server:beta\", host \"music.clan\": the host is claimed by machine \
             \"alpha\" (scope \"a:x:server:alpha\") and machine \"beta\" (this scope) \
             (hint: export it from one machine only) [claimed-twice]"
        );
    }

    #[test]
    fn sorted_and_deduplicated() {
        let mut problems = Problems::default();
        problems.add("b", None, ProblemKind::ScopeKey);
        problems.add("a", Some("x"), ProblemKind::HostIsDomain);
        problems.add("b", None, ProblemKind::ScopeKey);
        let sorted = problems.into_sorted();
        assert_eq!(sorted.len(), 2);
        assert_eq!(sorted[0].scope, "a");
    }
}
