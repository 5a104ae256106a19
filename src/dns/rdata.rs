//! Declared records' data: the types a clan may declare beside its endpoints
//! (A, AAAA, CNAME, TXT, SRV). Each has one canonical text, the same in
//! `zone.conf`, `zone.db` and Knot's edits, and reading it back accepts that
//! text only: a signed file cannot smuggle anything past the zone syntax.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::dns::name::{self, Quoted};

/// Bytes of one TXT string (RFC 1035 3.3: a length octet).
pub const MAX_TXT_STRING: usize = 255;
/// Bytes of all strings of one TXT record: room for the strings of a long
/// DKIM or SPF value, well within a DNS message.
pub const MAX_TXT_RECORD: usize = 2048;

/// The data of one declared record. The variants' order is the record
/// types' order in every file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The target, an absolute name without the trailing dot.
    Cname(String),
    /// The strings of one record.
    Txt(Vec<String>),
    Srv(Srv),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// An absolute host name without the trailing dot.
    pub target: String,
}

impl Rdata {
    /// The record type's mnemonic.
    pub fn kind(&self) -> &'static str {
        match self {
            Rdata::A(_) => "A",
            Rdata::Aaaa(_) => "AAAA",
            Rdata::Cname(_) => "CNAME",
            Rdata::Txt(_) => "TXT",
            Rdata::Srv(_) => "SRV",
        }
    }

    /// Whether this is a CNAME, which must be alone at its name.
    pub fn is_cname(&self) -> bool {
        matches!(self, Rdata::Cname(_))
    }

    /// Reads the data of a record of type `kind` as `Display` writes it,
    /// and nothing else: any other spelling is refused.
    pub fn parse(kind: &str, text: &str) -> Result<Rdata, String> {
        let read = || -> Option<Rdata> {
            Some(match kind {
                "A" => Rdata::A(text.parse().ok()?),
                "AAAA" => Rdata::Aaaa(text.parse().ok()?),
                "CNAME" => Rdata::Cname(absolute_name(text)?),
                "TXT" => Rdata::Txt(txt_strings(text)?),
                "SRV" => {
                    let fields: Vec<&str> = text.split(' ').collect();
                    let [priority, weight, port, target] = fields[..] else {
                        return None;
                    };
                    Rdata::Srv(Srv {
                        priority: priority.parse().ok()?,
                        weight: weight.parse().ok()?,
                        port: port.parse().ok()?,
                        target: absolute_name(target)?,
                    })
                }
                _ => return None,
            })
        };
        if !matches!(kind, "A" | "AAAA" | "CNAME" | "TXT" | "SRV") {
            return Err(format!(
                "records of type {} are not accepted (only A, AAAA, CNAME, TXT, SRV)",
                Quoted(kind)
            ));
        }
        let data = read()
            .filter(|data| data.to_string() == text)
            .ok_or_else(|| format!("{} is not {kind} data in canonical form", Quoted(text)))?;
        data.check()
            .map_err(|e| format!("{kind} {}: {e}", Quoted(text)))
    }

    /// The rules every value holds to, whoever wrote it.
    pub fn check(self) -> Result<Rdata, String> {
        match &self {
            Rdata::A(_) | Rdata::Aaaa(_) => {}
            Rdata::Cname(target) | Rdata::Srv(Srv { target, .. }) => check_target(target)?,
            Rdata::Txt(strings) => check_txt(strings)?,
        }
        Ok(self)
    }
}

/// A name as data: lower-case LDH, at most 253 characters, no wildcard.
fn check_target(target: &str) -> Result<(), String> {
    if target.contains('*') {
        return Err(format!("the target {} is a wildcard", Quoted(target)));
    }
    match name::normalize_host(target) {
        Ok(checked) if checked == target => Ok(()),
        Ok(_) => Err(format!(
            "the target {} is not in lower case",
            Quoted(target)
        )),
        Err(e) => Err(format!("the target {}: {e}", Quoted(target))),
    }
}

/// TXT strings: printable ASCII without the quote characters and the
/// backslash, which no zone syntax then needs to escape.
pub fn check_txt(strings: &[String]) -> Result<(), String> {
    if strings.is_empty() {
        return Err("a TXT record needs at least one string".into());
    }
    let mut total = 0;
    for text in strings {
        if text.len() > MAX_TXT_STRING {
            return Err(format!(
                "the TXT string {} is {} bytes, the limit is {MAX_TXT_STRING} (hint: split it \
                 into several strings of one record: [\"first part\", \"second part\"])",
                Quoted(text),
                text.len()
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|&c| !(' '..='~').contains(&c) || matches!(c, '"' | '\'' | '\\'))
        {
            return Err(format!(
                "the TXT string {} contains {c:?} (hint: TXT strings are printable ASCII \
                 without quotes and backslashes)",
                Quoted(text)
            ));
        }
        total += text.len();
    }
    if total > MAX_TXT_RECORD {
        return Err(format!(
            "the TXT record's strings are {total} bytes together, the limit is \
             {MAX_TXT_RECORD}"
        ));
    }
    Ok(())
}

/// `name.` -> `name`, for a name that ends in exactly one dot.
fn absolute_name(text: &str) -> Option<String> {
    text.strip_suffix('.')
        .filter(|bare| !bare.is_empty() && !bare.ends_with('.'))
        .map(str::to_owned)
}

/// `"a" "b"` -> [a, b]: quoted strings separated by one space.
fn txt_strings(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.split("\" \"").map(str::to_owned).collect())
}

/// The data as every file writes it: names absolute, TXT strings quoted.
impl fmt::Display for Rdata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rdata::A(address) => write!(f, "{address}"),
            Rdata::Aaaa(address) => write!(f, "{address}"),
            Rdata::Cname(target) => write!(f, "{target}."),
            Rdata::Txt(strings) => {
                for (i, text) in strings.iter().enumerate() {
                    let space = if i > 0 { " " } else { "" };
                    write!(f, "{space}\"{text}\"")?;
                }
                Ok(())
            }
            Rdata::Srv(srv) => write!(
                f,
                "{} {} {} {}.",
                srv.priority, srv.weight, srv.port, srv.target
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_reads_back() {
        for (kind, text) in [
            ("A", "192.168.1.20"),
            ("AAAA", "fd00::21"),
            ("CNAME", "forge.clan."),
            ("TXT", "\"v=spf1 -all\""),
            ("TXT", "\"first\" \"second part\""),
            ("SRV", "10 5 389 alpha.clan."),
        ] {
            let data = Rdata::parse(kind, text).unwrap();
            assert_eq!(data.kind(), kind);
            assert_eq!(data.to_string(), text);
        }
    }

    #[test]
    fn refuses_other_spellings_and_escapes() {
        for (kind, text) in [
            ("A", "192.168.001.20"),
            ("AAAA", "fd00:0::21"),
            ("AAAA", "FD00::21"),
            ("CNAME", "forge.clan"),
            ("CNAME", "Forge.clan."),
            ("CNAME", "*.clan."),
            ("TXT", "v=spf1"),
            ("TXT", "\"a\"  \"b\""),
            ("TXT", "\"a\\\" b\""),
            ("TXT", "\"a\" ; x"),
            ("TXT", "\"tab\there\""),
            ("SRV", "10 5 389 alpha.clan"),
            ("SRV", "10 5 70000 alpha.clan."),
            ("SRV", "010 5 389 alpha.clan."),
            ("SRV", "10  5 389 alpha.clan."),
            ("MX", "10 mail.clan."),
        ] {
            assert!(Rdata::parse(kind, text).is_err(), "{kind} {text} accepted");
        }
    }

    #[test]
    fn txt_limits() {
        let long = "x".repeat(MAX_TXT_STRING + 1);
        assert!(check_txt(&[long]).unwrap_err().contains("split it"));
        let many = vec!["y".repeat(MAX_TXT_STRING); 9];
        assert!(check_txt(&many).unwrap_err().contains("together"));
        assert!(check_txt(&["it's".into()]).is_err());
        assert!(check_txt(&[]).is_err());
        assert!(check_txt(&[String::new()]).is_ok());
    }
}
