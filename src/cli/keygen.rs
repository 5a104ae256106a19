//! `dm-dns keygen`: a signing key pair in data-mesher's formats.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use dm_dns::error::Error;
use dm_dns::sign::keys;

/// Create an ED25519 signing key pair in data-mesher's PEM formats.
///
/// The private key is PKCS#8 PEM (mode 0600), the public key SPKI PEM, exactly
/// as `data-mesher generate signing-key` writes them.
#[derive(Args)]
pub struct KeygenArgs {
    /// Where the private key goes (created with mode 0600, e.g. signing.key).
    #[arg(long, value_name = "FILE")]
    private_key_path: Utf8PathBuf,
    /// Where the public key goes (e.g. signing.pub; give it to the nodes).
    #[arg(long, value_name = "FILE")]
    public_key_path: Utf8PathBuf,
    /// Replace existing key files (both are written, or neither).
    #[arg(long)]
    force: bool,
}

pub fn run(args: KeygenArgs) -> Result<ExitCode, Error> {
    let key = keys::write_pair(&args.private_key_path, &args.public_key_path, args.force)?;
    eprintln!(
        "dm-dns: wrote {} and {} (public key {})",
        args.private_key_path,
        args.public_key_path,
        keys::public_base64(&key.verifying_key())
    );
    Ok(ExitCode::SUCCESS)
}
