//! Golden fixtures: every `checks/<name>/` holds exports, a `domain` file,
//! declared records where it has a `records.json`, and the expected
//! `zone.conf`, `zone.db` and `manifest.json`. Set
//! `DM_DNS_BLESS=1` to rewrite the expected files after a deliberate change.

use std::path::Path;

use crate::common::{dm_dns, repo_path, run, stderr, stdout};

const OUTPUTS: [&str; 3] = ["zone.conf", "zone.db", "manifest.json"];

fn exports_file(fixture: &Path) -> std::path::PathBuf {
    ["exports.json", "exports.nix"]
        .iter()
        .map(|name| fixture.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{} has no exports.json or exports.nix", fixture.display()))
}

#[test]
fn every_fixture_matches_its_expected_outputs() {
    let mut fixtures: Vec<_> = std::fs::read_dir(repo_path("checks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 4, "fixtures missing: {fixtures:?}");
    let bless = std::env::var_os("DM_DNS_BLESS").is_some();
    for fixture in fixtures {
        let domain = std::fs::read_to_string(fixture.join("domain")).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = if bless {
            fixture.join("expected")
        } else {
            tmp.path().join("zone")
        };
        let mut zone = dm_dns();
        zone.arg("zone")
            .arg("--exports")
            .arg(exports_file(&fixture));
        if fixture.join("records.json").exists() {
            zone.arg("--records").arg(fixture.join("records.json"));
        }
        let result = run(zone.args(["--domain", domain.trim(), "--out"]).arg(&out));
        assert!(
            result.status.success(),
            "{}: {}",
            fixture.display(),
            stderr(&result)
        );
        for name in OUTPUTS {
            let expected = std::fs::read(fixture.join("expected").join(name)).unwrap();
            let actual = std::fs::read(out.join(name)).unwrap();
            if expected != actual {
                let diff = run(dm_dns().arg("diff").arg(fixture.join("expected")).arg(&out));
                panic!(
                    "{}: {name} differs from the golden file\n{}",
                    fixture.display(),
                    stdout(&diff)
                );
            }
        }
        let same = run(dm_dns().arg("diff").arg(fixture.join("expected")).arg(&out));
        assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    }
}
