//! `keygen`, `pubkey` and key arguments: a pair is written whole or not at
//! all, and no error repeats what may be key material.

use std::path::Path;

use crate::common::{dm_dns, run, stderr, stdout};
use crate::node::keygen;

fn public_of(path: &Path) -> String {
    stdout(&run(dm_dns().arg("pubkey").arg(path)))
}

#[test]
fn keygen_refuses_identical_paths_and_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("sub")).unwrap();
    for (private, public) in [
        (dir.join("k"), dir.join("k")),
        (dir.join("sub/../k"), dir.join("k")),
        (dir.join("sub/k"), dir.join("./sub/k")),
    ] {
        let out = run(&mut keygen(&private, &public));
        assert_eq!(out.status.code(), Some(2), "{private:?} {public:?}");
        assert!(stderr(&out).contains("both name"), "{}", stderr(&out));
    }
    assert!(!dir.join("k").exists() && !dir.join("sub/k").exists());
    for (private, public) in [("-", "k.pub"), ("k", "-")] {
        let out = run(dm_dns().current_dir(dir).args([
            "keygen",
            "--private-key-path",
            private,
            "--public-key-path",
            public,
        ]));
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("never stdout"), "{}", stderr(&out));
        assert!(!stdout(&out).contains("PRIVATE"));
    }
}

#[test]
fn a_pair_is_written_whole_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (private, public) = (dir.join("signing.key"), dir.join("signing.pub"));
    // The public key's directory does not exist: nothing may be written.
    let out = run(&mut keygen(&private, &dir.join("missing/signing.pub")));
    assert_eq!(out.status.code(), Some(2));
    assert!(!private.exists(), "a private key without its public key");
    assert!(crate::common::listing(dir).is_empty(), "leftovers");

    assert!(run(&mut keygen(&private, &public)).status.success());
    let before = (std::fs::read(&private).unwrap(), public_of(&public));
    assert_eq!(public_of(&private), before.1);
    // --force into a place where the public key cannot go: the old pair stays.
    let out = run(keygen(&private, &dir.join("missing/signing.pub")).arg("--force"));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&private).unwrap(), before.0);
    // --force with only one of the two present replaces both, as a pair.
    std::fs::remove_file(&public).unwrap();
    assert!(
        run(keygen(&private, &public).arg("--force"))
            .status
            .success()
    );
    assert_ne!(std::fs::read(&private).unwrap(), before.0);
    assert_eq!(public_of(&private), public_of(&public));
    assert_eq!(
        crate::common::listing(dir),
        vec!["signing.key", "signing.pub"]
    );
}

#[test]
fn key_arguments_are_never_echoed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (private, public) = (dir.join("signing.key"), dir.join("signing.pub"));
    assert!(run(&mut keygen(&private, &public)).status.success());
    let private_text = std::fs::read_to_string(&private).unwrap();
    let secret_line = private_text.lines().nth(1).unwrap().to_owned();
    // The seed alone, base64: as secret as the PEM.
    let seed = dm_dns::sign::keys::parse_private(&private_text)
        .unwrap()
        .to_bytes();
    let seed_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([seed.as_slice(), &[0u8; 16]].concat())
    };
    let signed = dir.join("nothing");
    std::fs::write(&signed, "x").unwrap();
    for arg in [private_text.as_str(), seed_b64.as_str()] {
        for out in [
            run(dm_dns().arg("pubkey").arg(arg)),
            run(dm_dns().args(["verify", "--trusted-key", arg]).arg(&signed)),
        ] {
            assert_eq!(out.status.code(), Some(2));
            let message = stderr(&out);
            assert!(!message.contains(&secret_line), "{message}");
            assert!(!message.contains(&seed_b64[..20]), "{message}");
        }
    }
    // A path is named, and said not to exist.
    let out = run(dm_dns().args(["pubkey", "/etc/dm-dns/missing.pub"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("\"/etc/dm-dns/missing.pub\" does not exist"),
        "{}",
        stderr(&out)
    );
}
