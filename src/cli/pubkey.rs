//! `dm-dns pubkey`: the base64 form of a key.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use dm_dns::error::Error;
use dm_dns::sign::keys;

/// Print the base64 of the raw public key (the form data-mesher allowlists take).
#[derive(Args)]
pub struct PubkeyArgs {
    /// A file holding a PEM private key, a PEM public key or the base64
    /// form; the base64 form itself; or - to read the key from stdin.
    /// (Hyphen values are taken as given, so pasted PEM text gets our error,
    /// which never repeats it.)
    #[arg(allow_hyphen_values = true)]
    keyfile: Utf8PathBuf,
}

pub fn run(args: PubkeyArgs) -> Result<ExitCode, Error> {
    let key = if args.keyfile == "-" {
        keys::parse_public(&super::read_text(&args.keyfile, "the key")?)?
    } else {
        keys::load_public(args.keyfile.as_str())?
    };
    println!("{}", keys::public_base64(&key));
    Ok(ExitCode::SUCCESS)
}
