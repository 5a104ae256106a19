//! DNS name rules: the clan domain and endpoint host names.
//!
//! Everything that reaches unbound passes through here first, so the rules are
//! strict LDH (letters, digits, hyphen) and the errors say how to fix the name.

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// Longest presentation-format name without the trailing dot (RFC 1035 2.3.4).
const MAX_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Why a name is refused, with a hint for the user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NameError {
    pub reason: String,
    pub hint: &'static str,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (hint: {})", self.reason, self.hint)
    }
}

fn refuse(reason: impl Into<String>, hint: &'static str) -> NameError {
    NameError {
        reason: reason.into(),
        hint,
    }
}

const LDH_HINT: &str = "use only letters a-z, digits 0-9 and '-' in dot-separated labels";

/// A name, key or line as messages show it: quoted like `{:?}`, and cut
/// after `SHOWN_BYTES` with its length said, so a 1 MB host name does not
/// become 1 MB of stderr for every problem it has.
pub struct Quoted<'a>(pub &'a str);

const SHOWN_BYTES: usize = 100;

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.len() <= SHOWN_BYTES {
            return write!(f, "{text:?}");
        }
        let mut cut = SHOWN_BYTES - 20;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        write!(f, "{:?}... ({} bytes)", &text[..cut], text.len())
    }
}

/// Normalises and checks a host name: one trailing dot is dropped, case is
/// folded, and the result must be an LDH hostname. Borrows when nothing changes,
/// which is the common case and keeps large inputs cheap.
pub fn normalize_host(raw: &str) -> Result<Cow<'_, str>, NameError> {
    let trimmed = raw.strip_suffix('.').unwrap_or(raw);
    if is_canonical_ldh(trimmed) {
        return Ok(Cow::Borrowed(trimmed));
    }
    if raw.is_empty() {
        return Err(refuse(
            "the host name is empty",
            "remove the empty string from endpoints.hosts",
        ));
    }
    if let Some(c) = raw.chars().find(|c| !c.is_ascii()) {
        return Err(refuse(
            format!("the host name contains the non-ASCII character {c:?}"),
            "write internationalised names in punycode (xn--...)",
        ));
    }
    if raw.contains('*') {
        return Err(refuse(
            "a wildcard is not allowed here",
            "only endpoint hosts may be wildcards, written *.<name> such as *.s3.<domain>",
        ));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| matches!(c, '"' | '\'' | '\\' | ';' | '\n' | '\r' | '\t' | ' '))
    {
        return Err(refuse(
            format!("the host name contains the forbidden character {c:?}"),
            "host names must be plain DNS names such as music.<domain>",
        ));
    }
    let name = if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    };
    check_ldh(&name)?;
    Ok(name)
}

/// An endpoint host: a host name, or a wildcard whose whole leftmost label
/// is `*` (`*.s3.<domain>`), the rest a host name. Where a wildcard may sit
/// within the domain is the compile's rule.
pub fn normalize_endpoint(raw: &str) -> Result<Cow<'_, str>, NameError> {
    // Plain names first: the common case keeps its fast path.
    let error = match normalize_host(raw) {
        Ok(name) => return Ok(name),
        Err(error) => error,
    };
    match raw.strip_prefix("*.") {
        Some(rest) if !rest.contains('*') && !rest.is_empty() => {
            let rest = normalize_host(rest)?;
            Ok(Cow::Owned(format!("*.{rest}")))
        }
        _ if raw.contains('*') => Err(refuse(
            format!(
                "the host name {} has a '*' that is not its whole first label",
                Quoted(raw)
            ),
            "a wildcard endpoint is written *.<name>, such as *.s3.<domain>",
        )),
        _ => Err(error),
    }
}

/// Whether `name` is a wildcard (`*.<name>`).
pub fn is_wildcard(name: &str) -> bool {
    name.starts_with("*.")
}

/// Whether `name` is an SRV record's `_service._proto.<name>`.
pub fn is_service_name(name: &str) -> bool {
    let mut labels = name.split('.');
    labels.next().is_some_and(|l| l.starts_with('_'))
        && labels.next().is_some_and(|l| l.starts_with('_'))
        && labels.next().is_some()
}

/// A declared record's name: a host name, or for SRV and TXT records
/// (`service_labels`) one whose leading labels may be `_`-prefixed service
/// labels, as in `_ldap._tcp.<domain>` or `_dmarc.<domain>`.
pub fn normalize_record_name(raw: &str, service_labels: bool) -> Result<String, NameError> {
    let trimmed = raw.strip_suffix('.').unwrap_or(raw);
    let mut rest = trimmed;
    let mut prefix = String::new();
    while service_labels && rest.starts_with('_') {
        let (label, after) = rest.split_once('.').ok_or_else(|| {
            refuse(
                format!("the name {} is only a service label", Quoted(raw)),
                "service labels go before a name, as in _ldap._tcp.<domain>",
            )
        })?;
        let bare = label[1..].to_ascii_lowercase();
        check_label(&bare).map_err(|e| NameError {
            reason: format!("the service label {}: {}", Quoted(label), e.reason),
            hint: e.hint,
        })?;
        prefix.push('_');
        prefix.push_str(&bare);
        prefix.push('.');
        rest = after;
    }
    if rest.contains('_') && !service_labels {
        return Err(refuse(
            format!("the name {} has a '_'", Quoted(raw)),
            "only SRV and TXT records may have service labels such as _ldap._tcp",
        ));
    }
    let host = normalize_host(rest)?;
    let name = format!("{prefix}{host}");
    if name.len() > MAX_NAME_LEN {
        return Err(refuse(
            format!(
                "the name is {} characters long, the limit is {MAX_NAME_LEN}",
                name.len()
            ),
            "shorten the name",
        ));
    }
    Ok(name)
}

/// The common case, cheaply: already lower-case, valid LDH. Anything else
/// takes the slower path that explains what is wrong. A large zone checks
/// a million names: names of 16 bytes or more are checked 16 bytes at a
/// time where the CPU can (`ldh16`).
fn is_canonical_ldh(name: &str) -> bool {
    if name.len() > MAX_NAME_LEN {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if name.len() >= 16 {
        // Only a name longer than a label can hold a label too long.
        return ldh16::is_ldh_without_bad_joints(name.as_bytes())
            && (name.len() <= MAX_LABEL_LEN
                || name.split('.').all(|label| label.len() <= MAX_LABEL_LEN));
    }
    // Every byte looked at without a branch, so the loop runs on vector
    // registers, then each label.
    let ldh_only = name.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_lowercase() | b.is_ascii_digit() | (b == b'-') | (b == b'.'))
    });
    ldh_only
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            (1..=MAX_LABEL_LEN).contains(&bytes.len())
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

/// The LDH check 16 bytes at a time (SSE2, part of every x86-64 CPU).
#[cfg(target_arch = "x86_64")]
mod ldh16 {
    use std::arch::x86_64::*;

    /// Bytes in `lo..=hi`, as a mask.
    fn in_range(v: __m128i, lo: u8, hi: u8) -> __m128i {
        // SAFETY: SSE2 is part of x86-64.
        unsafe {
            let above = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
            _mm_cmpeq_epi8(_mm_min_epu8(above, _mm_set1_epi8((hi - lo) as i8)), above)
        }
    }

    /// Whether `bytes` (16 or more) are only a-z, 0-9, '-' and '.', and
    /// no label is empty or starts or ends with '-': no dot or hyphen
    /// first or last, no dot followed by a dot or a hyphen, no hyphen by a
    /// dot. Label lengths are the caller's.
    pub fn is_ldh_without_bad_joints(bytes: &[u8]) -> bool {
        let len = bytes.len();
        assert!(len >= 16);
        let mut bad = 0;
        let mut offset = 0;
        // SAFETY: SSE2 is part of x86-64. Every load is of 16 bytes from
        // `at` or `at - 1`, with `at <= len - 16` (the last one overlaps
        // the one before), so within `bytes`.
        unsafe {
            let (dot, hyphen) = (_mm_set1_epi8(b'.' as i8), _mm_set1_epi8(b'-' as i8));
            while offset < len {
                let at = offset.min(len - 16);
                let here = _mm_loadu_si128(bytes.as_ptr().add(at).cast());
                // Each byte's predecessor; before the name, as if a dot.
                let before = if at == 0 {
                    _mm_or_si128(_mm_slli_si128(here, 1), _mm_cvtsi32_si128(i32::from(b'.')))
                } else {
                    _mm_loadu_si128(bytes.as_ptr().add(at - 1).cast())
                };
                let (is_dot, is_hyphen) = (_mm_cmpeq_epi8(here, dot), _mm_cmpeq_epi8(here, hyphen));
                let allowed = _mm_or_si128(
                    _mm_or_si128(in_range(here, b'a', b'z'), in_range(here, b'0', b'9')),
                    _mm_or_si128(is_dot, is_hyphen),
                );
                let joint = _mm_or_si128(
                    _mm_and_si128(_mm_cmpeq_epi8(before, dot), _mm_or_si128(is_dot, is_hyphen)),
                    _mm_and_si128(_mm_cmpeq_epi8(before, hyphen), is_dot),
                );
                bad |= (_mm_movemask_epi8(allowed) ^ 0xFFFF) | _mm_movemask_epi8(joint);
                offset += 16;
            }
        }
        bad == 0 && !matches!(bytes[len - 1], b'.' | b'-')
    }
}

/// 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-': a name
/// of one label.
fn is_ldh_label(label: &str) -> bool {
    !label.contains('.') && is_canonical_ldh(label)
}

fn check_ldh(name: &str) -> Result<(), NameError> {
    if name.len() > MAX_NAME_LEN {
        return Err(refuse(
            format!(
                "the name is {} characters long, the limit is {MAX_NAME_LEN}",
                name.len()
            ),
            "shorten the name",
        ));
    }
    for label in name.split('.') {
        check_label(label)?;
    }
    Ok(())
}

/// Checks one DNS label (also used for machine names).
pub fn check_label(label: &str) -> Result<(), NameError> {
    if is_ldh_label(label) {
        return Ok(());
    }
    explain_label(label)
}

/// What is wrong with a label (`Ok` if nothing is): the slow path.
fn explain_label(label: &str) -> Result<(), NameError> {
    if label.is_empty() {
        return Err(refuse("the name has an empty label", LDH_HINT));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(refuse(
            format!(
                "the label {} is longer than {MAX_LABEL_LEN} characters",
                Quoted(label)
            ),
            "shorten the label",
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(refuse(
            format!("the label {} contains the character {c:?}", Quoted(label)),
            LDH_HINT,
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(refuse(
            format!("the label {} starts or ends with '-'", Quoted(label)),
            LDH_HINT,
        ));
    }
    Ok(())
}

/// The clan domain (`meta.domain`), lower-case and without trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain(String);

impl Domain {
    /// Checks a domain by the host name rules, with errors about the domain.
    pub fn parse(raw: &str) -> Result<Domain, NameError> {
        let name = normalize_host(raw).map_err(|e| NameError {
            reason: e.reason.replace("the host name", "the domain"),
            hint: "the clan domain is meta.domain, a plain DNS name such as clan or example.com",
        })?;
        Ok(Domain(name.into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part of `host` before `.<domain>`, if `host` is strictly below the domain.
    pub fn relative<'h>(&self, host: &'h str) -> Option<&'h str> {
        host.strip_suffix(self.0.as_str())?
            .strip_suffix('.')
            .filter(|prefix| !prefix.is_empty())
    }

    /// A machine name must be one label, and `<machine>.<domain>` (the CNAME
    /// target and the name its address records get) a name within the length
    /// limit: unbound refuses to load a zone with a longer one.
    pub fn check_machine(&self, machine: &str) -> Result<(), NameError> {
        check_label(machine)?;
        let len = machine.len() + 1 + self.0.len();
        if len > MAX_NAME_LEN {
            return Err(refuse(
                format!(
                    "the machine's name {}.{} is {len} characters long, the limit is {MAX_NAME_LEN}",
                    Quoted(machine),
                    self.0
                ),
                "shorten the machine name or the clan domain",
            ));
        }
        Ok(())
    }

    /// `<machine>.<domain>`: the name a machine answers to.
    pub fn machine_name(&self, machine: &str) -> String {
        [machine, ".", &self.0].concat()
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A word-at-a-time multiplicative hash (as rustc's FxHash) for short
/// names, as a `BuildHasher` and its `Hasher`: several times cheaper than
/// SipHash on a million names, and the names are signed or our own.
/// Only for sets that are looked up, never iterated: their order must not
/// reach an output.
#[derive(Clone, Copy, Default)]
pub struct NameHash(u64);

impl BuildHasher for NameHash {
    type Hasher = NameHash;

    fn build_hasher(&self) -> NameHash {
        NameHash(0)
    }
}

impl NameHash {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for NameHash {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        // hashbrown takes buckets from the low bits and tags from the high
        // ones; the multiplies leave the low bits weak, so finish with
        // MurmurHash3's mixer, which spreads every bit over all.
        let mut h = self.0;
        h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A filter of names (a blocked Bloom filter): it says "surely not" for all
/// but about one in fifty names never inserted. At 16 bits per name, a
/// million names take 2 MB and stay near the cache, where a hash set of them
/// costs a cache miss per lookup. A name it lets through goes on to be
/// checked exactly; so few do that a set of them stays in cache too.
pub struct NameFilter {
    words: Vec<u64>,
}

impl NameFilter {
    pub fn with_capacity(names: usize) -> NameFilter {
        let words = (names * 16 / 64).next_power_of_two().max(1 << 10);
        NameFilter {
            words: vec![0; words],
        }
    }

    /// A word, and two bits of it: one cache line read per lookup.
    fn slot(&self, name: &str) -> (usize, u64) {
        let hash = NameHash::default().hash_one(name);
        let word = hash as usize & (self.words.len() - 1);
        let bits = 1 << (hash >> 52 & 63) | 1 << (hash >> 58);
        (word, bits)
    }

    pub fn insert(&mut self, name: &str) {
        let (word, bits) = self.slot(name);
        self.words[word] |= bits;
    }

    pub fn may_contain(&self, name: &str) -> bool {
        let (word, bits) = self.slot(name);
        self.words[word] & bits == bits
    }

    /// The names of both filters, which must have the same capacity.
    pub fn union(mut self, other: &NameFilter) -> NameFilter {
        assert_eq!(self.words.len(), other.words.len(), "filters of one size");
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(word, other)| *word |= other);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_trailing_dot() {
        assert_eq!(normalize_host("Music.Clan.").unwrap(), "music.clan");
        assert!(matches!(
            normalize_host("music.clan").unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn wildcards_are_whole_first_labels() {
        assert_eq!(normalize_endpoint("*.S3.clan.").unwrap(), "*.s3.clan");
        assert_eq!(normalize_endpoint("music.clan").unwrap(), "music.clan");
        for bad in [
            "*", "*.", "a*.clan", "a.*.clan", "*.*.clan", "**.clan", "*a.clan",
        ] {
            assert!(normalize_endpoint(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Domain::parse("*.clan").is_err());
    }

    #[test]
    fn service_labels_only_where_allowed() {
        assert_eq!(
            normalize_record_name("_LDAP._tcp.Clan.", true).unwrap(),
            "_ldap._tcp.clan"
        );
        assert!(normalize_record_name("_ldap._tcp.clan", false).is_err());
        assert!(normalize_record_name("a._b.clan", true).is_err());
        assert!(normalize_record_name("_.clan", true).is_err());
        assert!(normalize_record_name("_x", true).is_err());
        assert!(normalize_record_name("*.clan", true).is_err());
        assert_eq!(
            normalize_record_name("printer.clan", false).unwrap(),
            "printer.clan"
        );
    }

    #[test]
    fn refuses_non_ldh() {
        for bad in [
            "",
            ".",
            "a..b",
            "-a.clan",
            "a-.clan",
            "a_b.clan",
            "*.clan",
            "a b",
            "a\"b",
            "a;b",
            "a\nb",
            "a\\b",
            "müsic.clan",
            "a.clan..",
        ] {
            assert!(normalize_host(bad).is_err(), "{bad:?} accepted");
        }
        let long_label = "a".repeat(64);
        assert!(normalize_host(&long_label).is_err());
        let long_name = vec!["a".repeat(63); 4].join(".");
        assert_eq!(long_name.len(), 255);
        assert!(normalize_host(&long_name).is_err());
    }

    #[test]
    fn fast_path_agrees_with_explained_rules_on_every_short_name() {
        // Every name of up to seven of these bytes: each joint of dots and
        // hyphens, at each place.
        let alphabet = ['a', '0', '-', '.'];
        let mut names = vec![String::new()];
        let mut level = names.clone();
        for _ in 0..7 {
            level = level
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            names.extend_from_slice(&level);
        }
        assert_eq!(names.len(), (0..=7).map(|k| 4usize.pow(k)).sum::<usize>());
        for name in &names {
            assert_eq!(is_canonical_ldh(name), check_ldh(name).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn fast_path_agrees_with_explained_rules_on_long_names_with_every_joint() {
        // Names of 16 to 70 bytes (checked 16 at a time) with two bytes of
        // each kind put at each place, so each pair meets at each offset
        // of a 16-byte block and of the last, overlapping one.
        let kinds = ['a', '0', '-', '.', 'A', '_', '\0'];
        for len in (16..=40).chain([63, 64, 65, 70]) {
            let base = "a".repeat(len);
            for at in 0..len - 1 {
                for first in kinds {
                    for second in kinds {
                        let mut name: Vec<char> = base.chars().collect();
                        (name[at], name[at + 1]) = (first, second);
                        let name: String = name.into_iter().collect();
                        assert_eq!(
                            is_canonical_ldh(&name),
                            check_ldh(&name).is_ok(),
                            "{name:?}"
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_with_explained_rules(name in "[a-z0-9.-]{0,70}|[a-z0-9-]{60,66}(\\.[a-z0-9-]{1,3})?") {
            proptest::prop_assert_eq!(is_canonical_ldh(&name), check_ldh(&name).is_ok());
        }

        #[test]
        fn label_fast_path_agrees_with_explained_rules(label in "[a-z0-9A-Z_.-]{0,66}") {
            proptest::prop_assert_eq!(is_ldh_label(&label), explain_label(&label).is_ok());
        }
    }

    #[test]
    fn name_filter_has_no_false_negatives_and_few_false_positives() {
        let names: Vec<String> = (0..50_000).map(|i| format!("machine-{i:06}")).collect();
        let mut filter = NameFilter::with_capacity(names.len());
        names.iter().for_each(|n| filter.insert(n));
        assert!(names.iter().all(|n| filter.may_contain(n)));
        let passed = (0..50_000)
            .filter(|i| filter.may_contain(&format!("service{i}-machine-{i:06}")))
            .count();
        // Two bits of 16 per name: about one in fifty gets through.
        assert!(passed < 50_000 * 3 / 100, "{passed} of 50000 let through");
        let (front, back) = names.split_at(names.len() / 2);
        let half = |names: &[String]| {
            let mut filter = NameFilter::with_capacity(50_000);
            names.iter().for_each(|n| filter.insert(n));
            filter
        };
        let joined = half(front).union(&half(back));
        assert!(names.iter().all(|n| joined.may_contain(n)));
    }

    #[test]
    fn messages_cut_long_names() {
        let long = "a".repeat(1 << 20);
        assert_eq!(Quoted("ab").to_string(), "\"ab\"");
        let shown = Quoted(&long).to_string();
        assert!(
            shown.len() < 120 && shown.ends_with("(1048576 bytes)"),
            "{shown}"
        );
        let err = normalize_host(&long).unwrap_err().to_string();
        assert!(err.len() < 300, "{err}");
        let multibyte = "ü".repeat(100);
        assert!(Quoted(&multibyte).to_string().contains("(200 bytes)"));
    }

    #[test]
    fn punycode_hint_for_unicode() {
        let err = normalize_host("müsic.clan").unwrap_err();
        assert!(err.hint.contains("punycode"));
    }

    #[test]
    fn machine_names_fit_the_length_limit() {
        let domain = Domain::parse(&vec!["d".repeat(63); 3].join(".")).unwrap();
        assert_eq!(domain.as_str().len(), 191);
        assert!(domain.check_machine(&"m".repeat(61)).is_ok());
        let err = domain.check_machine(&"m".repeat(62)).unwrap_err();
        assert!(err.reason.contains("254 characters"), "{err}");
        assert!(domain.check_machine("Alpha").is_err());
    }

    #[test]
    fn relative_names() {
        let d = Domain::parse("Example.COM.").unwrap();
        assert_eq!(d.as_str(), "example.com");
        assert_eq!(d.relative("music.example.com"), Some("music"));
        assert_eq!(d.relative("example.com"), None);
        assert_eq!(d.relative("badexample.com"), None);
        assert_eq!(d.relative("music.example.org"), None);
    }
}
