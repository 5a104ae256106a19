//! ED25519 keys in data-mesher's formats: private keys as PKCS#8 PEM, public
//! keys as SPKI PEM, and allowlist entries as base64 of the raw 32 bytes.
//! One key pair therefore serves data-mesher and dm-dns alike.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use camino::Utf8Path;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::{DecodePublicKey, EncodePublicKey};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::Error;
use crate::sys::files;

/// Base64 of the raw public key, the form data-mesher allowlists take.
pub fn public_base64(key: &VerifyingKey) -> String {
    STANDARD.encode(key.as_bytes())
}

/// A fresh key from the kernel's random source.
pub fn generate() -> Result<SigningKey, Error> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| Error::io("reading /dev/urandom", e))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// PKCS#8 v1 PEM (seed only, no embedded public key), as Go's
/// `x509.MarshalPKCS8PrivateKey` and so data-mesher writes it.
pub fn private_pem(key: &SigningKey) -> String {
    let bytes = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    bytes
        .to_pkcs8_pem(LineEnding::LF)
        .expect("an ed25519 seed always encodes")
        .to_string()
}

pub fn public_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("an ed25519 public key always encodes")
}

/// Reads a private key: PKCS#8 PEM. The error never echoes the key text.
pub fn parse_private(text: &str) -> Result<SigningKey, Error> {
    SigningKey::from_pkcs8_pem(text.trim()).map_err(|_| {
        Error::input(
            "the signing key is not an ED25519 PKCS#8 PEM private key \
             (hint: create one with `dm-dns keygen` or `data-mesher generate signing-key`)",
        )
    })
}

/// Reads a public key from a PEM private key, a PEM public key or base64 of
/// the raw 32 bytes.
pub fn parse_public(text: &str) -> Result<VerifyingKey, Error> {
    let text = text.trim();
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        return parse_private(text).map(|k| k.verifying_key());
    }
    if text.contains("-----BEGIN PUBLIC KEY-----") {
        return VerifyingKey::from_public_key_pem(text)
            .map_err(|e| Error::input(format!("not an ED25519 SPKI public key: {e}")));
    }
    let raw = STANDARD
        .decode(text)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            Error::input(
                "a key must be a PEM file or the base64 of 32 raw bytes \
                 (hint: `dm-dns pubkey KEYFILE` prints that form)",
            )
        })?;
    VerifyingKey::from_bytes(&raw)
        .map_err(|_| Error::input("the base64 key is not a valid ED25519 point"))
}

/// A key argument (`--trusted-key`, `pubkey`): a file holding a key, or the
/// base64 itself. Errors never repeat an argument that may be key material
/// (PEM text, base64): only what is plainly a path is named.
pub fn load_public(arg: &str) -> Result<VerifyingKey, Error> {
    let path = Utf8Path::new(arg);
    if path.is_file() {
        let text = files::read_file(path, files::Limit::Small)
            .map_err(|e| Error::io(format!("reading {path}"), e))
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| Error::input(format!("{path} is not a key file")))
            })?;
        return parse_public(&text).map_err(|e| Error::input(format!("{path}: {e}")));
    }
    if arg.contains("-----") || arg.contains('\n') {
        return Err(Error::input(
            "the key argument holds PEM text, not a path; pass the path of the key file \
             (its text is not repeated here: it may be a private key)",
        ));
    }
    // Shorter base64 cannot hold a key; longer is never echoed.
    if arg.len() >= 40 && STANDARD.decode(arg).is_ok() {
        return parse_public(arg).map_err(|_| {
            Error::input(
                "the key argument is base64 but not of a 32-byte ED25519 public key \
                 (hint: `dm-dns pubkey signing.pub` prints the right form)",
            )
        });
    }
    Err(Error::input(format!(
        "the key file {} does not exist (hint: pass the path of the clan's signing.pub, \
         or the base64 that `dm-dns pubkey signing.pub` prints)",
        crate::dns::name::Quoted(arg)
    )))
}

/// Writes a new key pair: both files are staged and synced first and only
/// then renamed into place, so a failure never leaves a new private key
/// beside an old public key, or a private key without its public key.
pub fn write_pair(private: &Utf8Path, public: &Utf8Path, force: bool) -> Result<SigningKey, Error> {
    if private == "-" || public == "-" {
        return Err(Error::input(
            "keygen writes key files, never stdout (a private key on a terminal or in a \
             log is a leak); pass file paths",
        ));
    }
    if files::same_place(private, public)? {
        return Err(Error::input(format!(
            "--private-key-path and --public-key-path both name {private}; the public key \
             would replace the private key (hint: e.g. signing.key and signing.pub)"
        )));
    }
    for path in [private, public] {
        if path.symlink_metadata().is_ok() && !force {
            return Err(Error::input(format!(
                "{path} exists; refusing to overwrite a key (hint: pass --force to replace \
                 both key files)"
            )));
        }
    }
    let key = generate()?;
    let staged = [
        (private, private_pem(&key), 0o600),
        (public, public_pem(&key.verifying_key()), 0o644),
    ]
    .into_iter()
    .map(|(path, text, mode)| {
        let mut file = files::StagedFile::create_with_mode(path, mode)?;
        file.writer()
            .write_all(text.as_bytes())
            .map_err(|e| Error::io(format!("writing {path}"), e))?;
        Ok(file)
    })
    .collect::<Result<Vec<_>, Error>>()?;
    files::commit_together(staged)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds PEM the way Go's x509 package does, independently of our encoder.
    fn go_style_pem(label: &str, der_prefix: &[u8], key: &[u8]) -> String {
        let der = [der_prefix, key].concat();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            STANDARD.encode(der)
        )
    }

    const PKCS8_V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    const SPKI_PREFIX: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];

    #[test]
    fn reads_data_mesher_pem_and_round_trips() {
        let seed = [7u8; 32];
        let key = SigningKey::from_bytes(&seed);
        let private = go_style_pem("PRIVATE KEY", &PKCS8_V1_PREFIX, &seed);
        let public = go_style_pem("PUBLIC KEY", &SPKI_PREFIX, key.verifying_key().as_bytes());

        assert_eq!(parse_private(&private).unwrap().to_bytes(), seed);
        assert_eq!(
            private_pem(&key),
            private,
            "we write what data-mesher writes"
        );
        assert_eq!(public_pem(&key.verifying_key()), public);
        let b64 = public_base64(&key.verifying_key());
        for form in [&private, &public, &b64] {
            assert_eq!(parse_public(form).unwrap(), key.verifying_key());
        }
    }

    #[test]
    fn refuses_garbage_without_echoing_it() {
        let err = parse_private("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("c2VjcmV0"));
        assert!(parse_public("AAAA").is_err());
        assert!(parse_public("not base64 at all!").is_err());
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            generate().unwrap().to_bytes(),
            generate().unwrap().to_bytes()
        );
    }
}
