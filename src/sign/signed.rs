//! The signed mesh file: header comment lines, then the exact `zone.conf`
//! bytes. Comments keep it a valid unbound include, so nodes still running
//! the built-in service (clan-core's own dm-dns, which this project replaces:
//! README.md) can include it as before.
//!
//! ```text
//! # dm-dns signed zone
//! # format: 2
//! # domain: clan
//! # serial: 1790000000
//! # body-sha256: <64 hex digits>
//! # signer: <base64 raw public key>
//! # signature: <base64 ED25519 signature>
//! local-zone: "clan." transparent
//! ...
//! ```
//!
//! The signature covers every header byte before the signature line; the
//! body is bound to it by `body-sha256`. So every header field and every body
//! byte is signed, and signing or verifying a large zone costs one SHA-256
//! pass over the body instead of ED25519's two SHA-512 passes (SHA-256 has
//! CPU instructions on current x86 and ARM machines; SHA-512 mostly not).
//! Format 1, whose signature covered the header and the body, is still
//! read, so a node updated before its clan's deploy machine keeps taking
//! updates.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use std::io::Read;

use camino::Utf8Path;

use crate::artifacts::zonefile::{self, ZoneData};
use crate::dns::codes::codes;
use crate::dns::name::{Domain, Quoted};
use crate::error::Error;
use crate::sign::keys;
use crate::sys::digest::{hex, sha256};
use crate::sys::files;

/// The format `sign` writes.
pub const FORMAT: u32 = 2;
/// Format 1: the signature covers the header and the body.
const FORMAT_WHOLE_FILE: &str = "1";
const MAGIC: &str = "# dm-dns signed zone\n";
const FIELDS: [&str; 6] = [
    "format",
    "domain",
    "serial",
    "body-sha256",
    "signer",
    "signature",
];

/// How far ahead of the signer's clock a serial may be without
/// `--allow-future-serial`.
pub const MAX_SERIAL_AHEAD_SECS: u64 = 24 * 60 * 60;

/// Serials are compared as plain numbers (not RFC 1982 arithmetic) and must
/// fit the SOA's 32 bits. Because every node refuses a serial lower than the
/// one it has, a serial far in the future would block every later update;
/// it needs `allow_future`, and the way back is `install --allow-rollback`.
pub fn check_serial(serial: u64, now: u64, allow_future: bool) -> Result<(), String> {
    if u32::try_from(serial).is_err() {
        return Err(format!(
            "serial {serial} does not fit a DNS SOA serial (at most {}); \
             hint: leave --serial out to use the current Unix time",
            u32::MAX
        ));
    }
    if serial > now.saturating_add(MAX_SERIAL_AHEAD_SECS) && !allow_future {
        return Err(format!(
            "serial {serial} is more than a day ahead of the current Unix time {now}; \
             every node would refuse all later zones with a lower serial \
             (hint: leave --serial out, or pass --allow-future-serial if this is on purpose)"
        ));
    }
    Ok(())
}

/// Produces the signed file for `body` (a `zone.conf`), given its SHA-256,
/// which the caller has computed already to check the body.
pub fn sign(
    key: &SigningKey,
    domain: &Domain,
    serial: u64,
    body: &[u8],
    body_sha256: &[u8; 32],
) -> Vec<u8> {
    debug_assert_eq!(&sha256(body), body_sha256);
    let mut file = header(key, domain, serial, body_sha256).into_bytes();
    file.extend_from_slice(body);
    file
}

/// The header of the signed file for a body of SHA-256 `body_sha256`: the
/// file is this, then the body. Written apart, a large body is never copied
/// behind it in memory.
pub fn header(key: &SigningKey, domain: &Domain, serial: u64, body_sha256: &[u8; 32]) -> String {
    let signed_part = format!(
        "{MAGIC}# format: {FORMAT}\n# domain: {domain}\n# serial: {serial}\n\
         # body-sha256: {}\n# signer: {}\n",
        hex(body_sha256),
        keys::public_base64(&key.verifying_key()),
    );
    let signature = key.sign(signed_part.as_bytes());
    let signature_line = format!("# signature: {}\n", STANDARD.encode(signature.to_bytes()));
    signed_part + &signature_line
}

/// A signed file whose signature checked out and whose body parsed strictly.
#[derive(Debug)]
pub struct Verified {
    pub serial: u64,
    pub signer: VerifyingKey,
    pub zone: ZoneData,
}

/// Why a mesh file is not served: the codes `install` records, `status`
/// reports and `plan` shows, each with what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not a signed file at all (the built-in service's `zone.conf`?).
    NotSigned,
    /// Signed by a key this node does not trust (rotated key, or a stranger).
    UntrustedSigner,
    /// The node trusts no key at all.
    NoTrustedKeys,
    /// The signature or the body hash does not match: changed after signing.
    BadSignature,
    /// The header is malformed or of an unknown format version.
    BadFormat,
    /// The signed body is not a valid zone.
    BadBody,
    /// A zone of another domain.
    WrongDomain,
    /// Not newer than the installed serial: a rollback or a replay.
    NotNewer,
    /// Larger than the node's mesh size limit.
    TooLarge,
    /// The zone gives a name this node's own address records also give.
    ConflictsWithHosts,
}

codes!(RefusalKind {
    NotSigned => "not-signed",
    UntrustedSigner => "untrusted-signer",
    NoTrustedKeys => "no-trusted-keys",
    BadSignature => "bad-signature",
    BadFormat => "bad-format",
    BadBody => "bad-body",
    WrongDomain => "wrong-domain",
    NotNewer => "not-newer",
    TooLarge => "too-large",
    ConflictsWithHosts => "conflicts-with-hosts",
});

impl RefusalKind {
    /// Whether the node's own configuration, not the file, needs changing:
    /// then a managed node is fixed by redeploying it.
    pub fn fixed_on_the_node(self) -> bool {
        matches!(
            self,
            RefusalKind::UntrustedSigner
                | RefusalKind::NoTrustedKeys
                | RefusalKind::WrongDomain
                | RefusalKind::TooLarge
                | RefusalKind::ConflictsWithHosts
        )
    }
}

/// A refused file: the kind and what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RefusalKind,
    pub message: String,
}

impl Rejection {
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Rejection {
        Rejection {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks a signed file against the trusted keys. Every refusal says why.
pub fn verify(
    file: &[u8],
    trusted: &[VerifyingKey],
    expected_domain: Option<&Domain>,
) -> Result<Verified, Rejection> {
    use RefusalKind::*;
    let rest = file.strip_prefix(MAGIC.as_bytes()).ok_or_else(|| {
        Rejection::new(
            NotSigned,
            "not a dm-dns signed zone: the first line must be `# dm-dns signed zone` \
             (hint: sign the zone with `dm-dns sign`)",
        )
    })?;
    let mut values = Vec::with_capacity(FIELDS.len());
    let mut rest = rest;
    let mut signed_len = MAGIC.len();
    for field in FIELDS {
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| {
            Rejection::new(
                BadFormat,
                format!("the header ends before `# {field}:` (truncated?)"),
            )
        })?;
        let line = std::str::from_utf8(&rest[..end]).map_err(|_| {
            Rejection::new(BadFormat, format!("the `{field}` header line is not UTF-8"))
        })?;
        let value = line
            .strip_prefix("# ")
            .and_then(|l| l.strip_prefix(field))
            .and_then(|l| l.strip_prefix(": "))
            .ok_or_else(|| {
                Rejection::new(
                    BadFormat,
                    format!(
                        "expected the header line `# {field}: ...`, found {}",
                        Quoted(line)
                    ),
                )
            })?;
        values.push(value);
        rest = &rest[end + 1..];
        if field != "signature" {
            signed_len += end + 1;
        }
    }
    let [format, domain, serial, body_sha, signer, signature] = values[..] else {
        unreachable!("one value per field")
    };
    let whole_file = format == FORMAT_WHOLE_FILE;
    if !whole_file && format != FORMAT.to_string() {
        return Err(Rejection::new(
            BadFormat,
            format!(
                "unknown format version {}; this dm-dns reads formats \
                 {FORMAT_WHOLE_FILE} to {FORMAT} (hint: update dm-dns on this node)",
                Quoted(format)
            ),
        ));
    }
    let serial: u64 = serial
        .parse()
        .ok()
        .filter(|n: &u64| n.to_string() == serial)
        .ok_or_else(|| {
            Rejection::new(
                BadFormat,
                format!(
                    "the serial {} is not a canonical decimal number",
                    Quoted(serial)
                ),
            )
        })?;
    let signer_key = decode_exact::<32>(signer)
        .and_then(|raw| VerifyingKey::from_bytes(&raw).ok())
        .ok_or_else(|| {
            Rejection::new(BadFormat, "the signer is not a base64 ED25519 public key")
        })?;
    if !trusted.contains(&signer_key) {
        return Err(Rejection::new(
            UntrustedSigner,
            format!(
                "the file is signed by {signer}, which is not a trusted key \
                 (hint: add it with --trusted-key if it is the clan's dm-dns key)"
            ),
        ));
    }
    let signature = decode_exact::<64>(signature)
        .map(|raw| Signature::from_bytes(&raw))
        .ok_or_else(|| Rejection::new(BadFormat, "the signature is not base64 of 64 bytes"))?;
    let body = rest;
    let header = &file[..signed_len];
    let checked = if whole_file {
        signer_key.verify_strict(&[header, body].concat(), &signature)
    } else {
        signer_key.verify_strict(header, &signature)
    };
    checked.map_err(|_| {
        Rejection::new(
            BadSignature,
            "bad signature: the file was changed after signing",
        )
    })?;
    let (parsed, body_sha256) = zonefile::parse_conf_hashed(body);
    let parsed = parsed
        .ok_or_else(|| "the body is not UTF-8".to_string())
        .and_then(|zone| zone.map_err(|e| format!("the signed body: {e}")));
    if hex(&body_sha256) != body_sha {
        return Err(Rejection::new(
            BadSignature,
            "the body does not match its signed body-sha256: the file was changed after signing",
        ));
    }
    let zone = parsed.map_err(|e| Rejection::new(BadBody, e))?;
    if zone.domain.as_str() != domain {
        return Err(Rejection::new(
            BadBody,
            format!(
                "the header domain {} differs from the body's {:?}",
                Quoted(domain),
                zone.domain.as_str()
            ),
        ));
    }
    if let Some(expected) = expected_domain.filter(|d| **d != zone.domain) {
        return Err(Rejection::new(
            WrongDomain,
            format!(
                "the zone is for domain {:?}, this node serves {:?}",
                zone.domain.as_str(),
                expected.as_str()
            ),
        ));
    }
    Ok(Verified {
        serial,
        signer: signer_key,
        zone,
    })
}

/// Reads a signed file of at most `max_bytes`, checked before reading (and
/// while reading, should the file grow): a huge file is refused with a message
/// instead of exhausting memory. `None` when the file does not exist.
pub fn read_limited(path: &Utf8Path, max_bytes: u64) -> Result<Option<Vec<u8>>, Error> {
    let file = match files::open_regular(path, true) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {path}"), e)),
    };
    files::read_file_within(file, max_bytes)
        .map_err(|e| Error::io(format!("reading {path}"), e))?
        .map(Some)
        .map_err(|too_large| mesh_too_large(path.as_str(), max_bytes, too_large))
}

/// Reads at most `max_bytes` from `source`: a source that holds more is
/// refused without reading it all.
pub fn read_bounded(source: impl Read, max_bytes: u64, label: &str) -> Result<Vec<u8>, Error> {
    files::read_stream_within(source, max_bytes)
        .map_err(|e| Error::io(format!("reading {label}"), e))?
        .map_err(|too_large| mesh_too_large(label, max_bytes, too_large))
}

fn mesh_too_large(label: &str, max_bytes: u64, too_large: files::TooLarge) -> Error {
    let found = match too_large.size {
        Some(size) => format!("is {size} bytes,"),
        None => "holds".to_owned(),
    };
    Error::input(format!(
        "{label} {found} more than the limit of {max_bytes} bytes \
         (hint: a larger zone needs a larger --max-mesh-size)"
    ))
}

/// The serial a file's header claims, unverified: for saying which update
/// was refused.
pub fn claimed_serial(file: &[u8]) -> Option<u64> {
    claimed(file, "serial")?.parse().ok()
}

/// The signer a file's header claims, unverified (a base64 key, checked
/// for its shape only): for saying which key signed a refused file.
pub fn claimed_signer(file: &[u8]) -> Option<String> {
    let signer = claimed(file, "signer")?;
    decode_exact::<32>(signer).map(|_| signer.to_owned())
}

fn claimed<'f>(file: &'f [u8], field: &str) -> Option<&'f str> {
    let header = file.strip_prefix(MAGIC.as_bytes())?;
    let head = &header[..header.len().min(512)];
    let head = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    head.lines().take(FIELDS.len()).find_map(|line| {
        line.strip_prefix("# ")?
            .strip_prefix(field)?
            .strip_prefix(": ")
    })
}

/// Base64 that decodes to exactly N bytes (canonical encoding only).
fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = STANDARD.decode(text).ok()?;
    let array = <[u8; N]>::try_from(bytes).ok()?;
    (STANDARD.encode(array) == text).then_some(array)
}

/// The body of a signed file without checking anything (for `diff`); other
/// text is returned unchanged.
pub fn strip_header(text: &str) -> &str {
    if !text.starts_with(MAGIC) {
        return text;
    }
    let mut rest = text;
    while rest.starts_with('#') {
        rest = rest.split_once('\n').map_or("", |(_, after)| after);
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &[u8] = b"local-zone: \"clan.\" transparent\n\
                          local-data: \"music.clan. CNAME alpha.clan.\"\n";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9u8; 32])
    }

    fn signed() -> Vec<u8> {
        sign(
            &key(),
            &Domain::parse("clan").unwrap(),
            1_790_000_000,
            BODY,
            &sha256(BODY),
        )
    }

    #[test]
    fn round_trips() {
        let v = verify(&signed(), &[key().verifying_key()], None).unwrap();
        assert_eq!(v.serial, 1_790_000_000);
        assert_eq!(v.zone.target("music.clan"), Some("alpha"));
        assert_eq!(
            strip_header(std::str::from_utf8(&signed()).unwrap()).as_bytes(),
            BODY
        );
    }

    /// A file from a signer older than format 2, signed over the header and
    /// the body, is still installed.
    #[test]
    fn reads_format_1() {
        let header = format!(
            "{MAGIC}# format: 1\n# domain: clan\n# serial: 7\n# body-sha256: {}\n# signer: {}\n",
            hex(&sha256(BODY)),
            keys::public_base64(&key().verifying_key())
        );
        let signature = key().sign(&[header.as_bytes(), BODY].concat());
        let file = [
            header.as_bytes(),
            format!("# signature: {}\n", STANDARD.encode(signature.to_bytes())).as_bytes(),
            BODY,
        ]
        .concat();
        let trusted = [key().verifying_key()];
        assert_eq!(verify(&file, &trusted, None).unwrap().serial, 7);
        // Its signature covers the body: a format 2 reading of it fails.
        let relabelled = String::from_utf8(file.clone())
            .unwrap()
            .replace("# format: 1", "# format: 2");
        assert!(verify(relabelled.as_bytes(), &trusted, None).is_err());
        let mut changed = file;
        let last = changed.len() - 3;
        changed[last] ^= 1;
        let err = verify(&changed, &trusted, None).unwrap_err();
        assert_eq!(err.kind, RefusalKind::BadSignature);
        assert!(err.message.contains("bad signature"), "{err}");
        let unknown = String::from_utf8(signed())
            .unwrap()
            .replace("# format: 2", "# format: 3");
        let err = verify(unknown.as_bytes(), &trusted, None).unwrap_err();
        assert_eq!(err.kind, RefusalKind::BadFormat);
        assert!(err.message.contains("formats 1 to 2"), "{err}");
    }

    #[test]
    fn refuses_wrong_key_domain_and_truncation() {
        let other = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
        let err = verify(&signed(), &[other], None).unwrap_err();
        assert_eq!(err.kind, RefusalKind::UntrustedSigner);
        assert!(err.message.contains("not a trusted key"), "{err}");
        assert_eq!(
            claimed_signer(&signed()),
            Some(keys::public_base64(&key().verifying_key()))
        );
        assert_eq!(claimed_signer(BODY), None);
        let wrong = Domain::parse("example.com").unwrap();
        let err = verify(&signed(), &[key().verifying_key()], Some(&wrong)).unwrap_err();
        assert_eq!(err.kind, RefusalKind::WrongDomain);
        assert_eq!(
            verify(BODY, &[key().verifying_key()], None)
                .unwrap_err()
                .kind,
            RefusalKind::NotSigned
        );
        let file = signed();
        for len in 0..file.len() {
            assert!(
                verify(&file[..len], &[key().verifying_key()], None).is_err(),
                "{len}"
            );
        }
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let file = signed();
        let trusted = [key().verifying_key()];
        for i in 0..file.len() {
            for replacement in [file[i] ^ 0x01, file[i] ^ 0x20, b'\n', b'#', 0] {
                if replacement == file[i] {
                    continue;
                }
                let mut changed = file.clone();
                changed[i] = replacement;
                assert!(
                    verify(&changed, &trusted, None).is_err(),
                    "byte {i} -> {replacement}"
                );
            }
            let mut removed = file.clone();
            removed.remove(i);
            assert!(
                verify(&removed, &trusted, None).is_err(),
                "byte {i} removed"
            );
        }
        let mut added = file.clone();
        added.extend_from_slice(b"forward-zone:\n");
        assert!(verify(&added, &trusted, None).is_err());
    }

    #[test]
    fn claimed_serial_reads_the_header_only() {
        assert_eq!(claimed_serial(&signed()), Some(1_790_000_000));
        assert_eq!(claimed_serial(b"local-zone: \"clan.\" transparent\n"), None);
        assert_eq!(claimed_serial(b"# dm-dns signed zone\n\xff\xfe"), None);
    }

    #[test]
    fn serials_fit_32_bits_and_stay_near_the_clock() {
        let now = 1_790_000_000;
        assert!(check_serial(now, now, false).is_ok());
        assert!(check_serial(now + MAX_SERIAL_AHEAD_SECS, now, false).is_ok());
        let ahead = check_serial(now + MAX_SERIAL_AHEAD_SECS + 1, now, false).unwrap_err();
        assert!(ahead.contains("--allow-future-serial"), "{ahead}");
        assert!(check_serial(now + 10 * MAX_SERIAL_AHEAD_SECS, now, true).is_ok());
        let wide = check_serial(1 << 32, now, true).unwrap_err();
        assert!(wide.contains("4294967295"), "{wide}");
        assert!(check_serial(u32::MAX.into(), u64::from(u32::MAX), false).is_ok());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = verify(&bytes, &[key().verifying_key()], None);
        }

        /// Any position, any other byte value: refused.
        #[test]
        fn any_single_byte_change_is_refused(at in any::<prop::sample::Index>(), mask in 1u8..=255) {
            let mut file = signed();
            let i = at.index(file.len());
            file[i] ^= mask;
            prop_assert!(verify(&file, &[key().verifying_key()], None).is_err());
        }

        #[test]
        fn signed_header_with_random_body_never_panics(body in ".{0,300}") {
            let body = body.as_bytes();
            let file = sign(&key(), &Domain::parse("clan").unwrap(), 1, body, &sha256(body));
            let _ = verify(&file, &[key().verifying_key()], None);
        }
    }
}
