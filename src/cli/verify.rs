//! `dm-dns verify`: a signed mesh file checked against trusted keys.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::{MeshSizeLimit, TrustedKeys, parse_domain};
use dm_dns::error::Error;
use dm_dns::sign::keys;
use dm_dns::sign::signed;

/// Check a signed mesh file against trusted keys.
#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    trusted: TrustedKeys,
    /// Refuse a zone for any other domain.
    #[arg(long)]
    domain: Option<String>,
    #[command(flatten)]
    limit: MeshSizeLimit,
    /// The signed mesh file to check, or - for stdin.
    file: Utf8PathBuf,
}

pub fn run(args: VerifyArgs) -> Result<ExitCode, Error> {
    if args.trusted.trusted_keys.is_empty() {
        return Err(Error::input(
            "verify needs at least one --trusted-key (hint: the clan's signing.pub)",
        ));
    }
    let trusted = args.trusted.load(None)?;
    let domain = args.domain.as_deref().map(parse_domain).transpose()?;
    let bytes = if args.file == "-" {
        signed::read_bounded(std::io::stdin(), args.limit.resolve(None), "stdin")?
    } else {
        signed::read_limited(&args.file, args.limit.resolve(None))?
            .ok_or_else(|| Error::input(format!("{} does not exist", args.file)))?
    };
    let verified = signed::verify(&bytes, &trusted, domain.as_ref())
        .map_err(|e| Error::input(format!("{}: {e}", args.file)))?;
    println!(
        "ok: domain {}, serial {}, {}, {}{}, signer {}",
        verified.zone.domain,
        verified.serial,
        super::count(verified.zone.len(), "CNAME"),
        super::count(verified.zone.addresses().len(), "address record"),
        super::other_records(&verified.zone),
        keys::public_base64(&verified.signer)
    );
    Ok(ExitCode::SUCCESS)
}
