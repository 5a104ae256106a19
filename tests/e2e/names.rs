//! Names beyond endpoint CNAMEs, answered by a real unbound (from its
//! auth-zones, or from a real Knot DNS behind it) to real `dig`: declared
//! records of every type, wildcard endpoints, and reverse lookups derived
//! from the signed zone's address records.

use std::path::Path;

use crate::common::{dm_dns, listing, run, stderr, stdout};
use crate::node::{HOSTS, Node};

const EXPORTS: &str = r#"{
  "navidrome:music:server:alpha": {"endpoints": {"hosts": ["music.clan", "*.s3.clan"]}},
  "gitea:forge:server:beta": {"endpoints": {"hosts": ["git.clan", "console.s3.clan"]}},
  "clan-core/yggdrasil:ygg::": {"networking": {"priority": 2000}},
  "clan-core/yggdrasil:ygg:default:alpha": {"peer": {"hosts": [{"plain": "200:1111:2222:3333::1"}]}},
  "clan-core/yggdrasil:ygg:default:beta": {"peer": {"hosts": [{"plain": "200:4444:5555:6666::1"}]}}
}"#;

const RECORDS: &str = r#"{
  "printer.clan": {"A": ["192.168.1.20"]},
  "nas.clan": {"A": ["192.168.1.21"], "AAAA": ["fd00::21"]},
  "code.clan": {"CNAME": "git.clan"},
  "docs.clan": {"CNAME": "example.org"},
  "_ldap._tcp.clan": {"SRV": [{"priority": 10, "weight": 5, "port": 389, "target": "alpha.clan"}]},
  "clan": {"TXT": ["v=spf1 -all"]}
}"#;

/// The reverse domains of the tests: yggdrasil's 200::/8 and the LAN's
/// 192.168.1.0/24.
const REVERSE: [&str; 2] = ["2.0.ip6.arpa", "1.168.192.in-addr.arpa"];

fn answers(node: &Node, name: &str, kind: &str) -> Vec<String> {
    node.unbound.dig(name, kind).answers()
}

/// What every node answers for the zone of EXPORTS and RECORDS.
fn assert_names_answered(node: &Node) {
    assert_eq!(
        answers(node, "printer.clan", "A"),
        ["printer.clan. A 192.168.1.20"]
    );
    assert_eq!(
        answers(node, "nas.clan", "AAAA"),
        ["nas.clan. AAAA fd00::21"]
    );
    assert_eq!(
        answers(node, "code.clan", "A"),
        [
            "code.clan. CNAME git.clan.",
            "git.clan. CNAME beta.clan.",
            "beta.clan. A 10.0.0.2"
        ]
    );
    assert_eq!(
        answers(node, "docs.clan", "CNAME"),
        ["docs.clan. CNAME example.org."]
    );
    assert_eq!(
        answers(node, "_ldap._tcp.clan", "SRV"),
        ["_ldap._tcp.clan. SRV 10 5 389 alpha.clan."]
    );
    assert_eq!(answers(node, "clan", "TXT"), ["clan. TXT \"v=spf1 -all\""]);
    // The wildcard answers names below it, one label or more; an explicit
    // endpoint below it wins.
    for name in ["bucket.s3.clan", "a.b.s3.clan"] {
        assert_eq!(
            answers(node, name, "A"),
            [
                format!("{name}. CNAME alpha.clan."),
                "alpha.clan. A 10.0.0.1".into()
            ]
        );
    }
    assert_eq!(
        answers(node, "console.s3.clan", "A"),
        ["console.s3.clan. CNAME beta.clan.", "beta.clan. A 10.0.0.2"]
    );
    assert_eq!(node.unbound.dig("s3.clan", "A").status(), "NOERROR");
    assert_eq!(
        node.unbound.dig("s3.clan", "A").answers(),
        Vec::<String>::new()
    );
    // Reverse lookups: the signed addresses of machines and declared names.
    let reverse = |address: &str| node.unbound.dig_reverse(address);
    assert_eq!(
        reverse("200:1111:2222:3333::1").answers(),
        [
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.3.3.3.2.2.2.2.1.1.1.1.0.0.2.0.ip6.arpa. PTR alpha.clan."
        ]
    );
    assert_eq!(
        reverse("192.168.1.20").answers(),
        ["20.1.168.192.in-addr.arpa. PTR printer.clan."]
    );
    // An address in a reverse domain the zone does not hold: no name.
    for unknown in ["200:9999::1", "192.168.1.99"] {
        let dig = reverse(unknown);
        assert_eq!(dig.status(), "NXDOMAIN", "{unknown}: {}", dig.0);
        assert!(dig.answers().is_empty());
    }
    // The node's own address for alpha (10.0.0.1) is no signed address: no
    // reverse name is claimed for it.
    assert!(reverse("10.0.0.1").answers().is_empty());
}

#[test]
fn declared_records_wildcards_and_reverse_names_through_knot() {
    let (_tmp, node) = Node::start_knot_with_reverse(&REVERSE);
    let out = node.deliver(&node.signed_zone_with(EXPORTS, Some(RECORDS), 10, "a"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_names_answered(&node);

    // A declared record changed: a reload; a machine's address moved: its
    // PTR follows, the old one is gone.
    let moved = EXPORTS.replace("200:1111:2222:3333::1", "200:1111:2222:3333::2");
    let records = RECORDS.replace("v=spf1 -all", "v=spf1 mx -all");
    let out = node.deliver(&node.signed_zone_with(&moved, Some(&records), 11, "b"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("zone reloaded"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 declared records changed"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(
        answers(&node, "clan", "TXT"),
        ["clan. TXT \"v=spf1 mx -all\""]
    );
    let ptr = |address: &str| {
        // Knot loads a reverse zone beside the served one: asked until then.
        for _ in 0..50 {
            let answers = node.unbound.dig_reverse(address).answers();
            if !answers.is_empty() {
                return answers;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Vec::new()
    };
    assert_eq!(ptr("200:1111:2222:3333::2").len(), 1);
    assert!(
        node.unbound
            .dig_reverse("200:1111:2222:3333::1")
            .answers()
            .is_empty()
    );
}

#[test]
fn declared_records_wildcards_and_reverse_names_through_unbounds_auth_zones() {
    let (_tmp, node) = Node::start_auth_zones(HOSTS, &REVERSE);
    let out = node.deliver(&node.signed_zone_with(EXPORTS, Some(RECORDS), 10, "a"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_names_answered(&node);
    // A reverse zone lost after the zone went in (a run killed between the
    // two, a hand): the next run, finding the zone in place, writes it
    // again and has it reloaded.
    let file = node.dir.join(format!("{}.zone", REVERSE[1]));
    std::fs::remove_file(&file).unwrap();
    let again = node.install();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already installed"),
        "{}",
        stderr(&again)
    );
    assert!(file.exists());
    assert_eq!(
        node.unbound.dig_reverse("192.168.1.20").answers(),
        ["20.1.168.192.in-addr.arpa. PTR printer.clan."]
    );
    // The reverse zone files are master files other servers load too.
    for zone in REVERSE {
        let check = run(std::process::Command::new("named-checkzone")
            .arg(zone)
            .arg(node.dir.join(format!("{zone}.zone"))));
        assert!(check.status.success(), "{}", stdout(&check));
    }
}

/// A signed zone over 1 MB is read in two halves on the node: the declared
/// records at its end reach the server like the rest.
#[test]
fn declared_records_of_a_large_zone_are_served() {
    let (_tmp, node) = Node::start_knot();
    let hosts: String = (0..30_000).map(|i| format!(r#","h{i:05}.clan""#)).collect();
    let exports = crate::node::exports("alpha", &hosts);
    let out = node.deliver(&node.signed_zone_with(&exports, Some(RECORDS), 10, "large"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::metadata(node.dir.join("large-zone/zone.conf"))
            .unwrap()
            .len()
            > 1 << 20
    );
    assert_eq!(answers(&node, "clan", "TXT"), ["clan. TXT \"v=spf1 -all\""]);
    assert_eq!(
        answers(&node, "_ldap._tcp.clan", "SRV"),
        ["_ldap._tcp.clan. SRV 10 5 389 alpha.clan."]
    );
    assert_eq!(
        answers(&node, "printer.clan", "A"),
        ["printer.clan. A 192.168.1.20"]
    );
}

/// `dm-dns zone --records` in `dir`; returns the run and the output
/// directory.
fn zone_with(
    dir: &Path,
    exports: &str,
    records: &str,
) -> (std::process::Output, std::path::PathBuf) {
    std::fs::write(dir.join("exports.json"), exports).unwrap();
    std::fs::write(dir.join("records.json"), records).unwrap();
    let out_dir = dir.join("zone");
    let out = run(dm_dns()
        .args(["zone", "--domain", "clan", "--exports"])
        .arg(dir.join("exports.json"))
        .arg("--records")
        .arg(dir.join("records.json"))
        .arg("--out")
        .arg(&out_dir));
    (out, out_dir)
}

#[test]
fn bad_records_and_wildcards_are_refused_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    for (exports, records, expected) in [
        (
            EXPORTS,
            r#"{"music.clan": {"TXT": ["x"]}}"#,
            "scope \"settings\", host \"music.clan\": the declared name is also an endpoint, \
             from scope \"navidrome:music:server:alpha\"",
        ),
        (
            EXPORTS,
            r#"{"alpha.clan": {"A": ["10.0.0.9"]}}"#,
            "[record-conflict]",
        ),
        (
            EXPORTS,
            r#"{"p.clan": {"A": ["192.168.01.2"]}}"#,
            "[record-value]",
        ),
        (
            EXPORTS,
            r#"{"p.clan": {"TXT": ["a\"b"]}}"#,
            "[record-value]",
        ),
        (
            EXPORTS,
            r#"{"p.clan": {"MX": ["10 m.clan"]}}"#,
            "[record-type]",
        ),
        (
            EXPORTS,
            r#"{"p.clan": {"CNAME": "nowhere.clan"}}"#,
            "[cname-target]",
        ),
        (
            EXPORTS,
            r#"{"p.org": {"A": ["1.2.3.4"]}}"#,
            "[record-outside-domain]",
        ),
        (
            r#"{"a:b:server:alpha": {"endpoints": {"hosts": ["*.clan"]}}}"#,
            "{}",
            "[wildcard-at-apex]",
        ),
    ] {
        let (out, out_dir) = zone_with(tmp.path(), exports, records);
        assert_eq!(out.status.code(), Some(2), "{records}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{records}: {}",
            stderr(&out)
        );
        assert!(!out_dir.exists(), "{:?}", listing(tmp.path()));
    }
}

#[test]
fn explain_names_the_wildcard_and_the_declared_source() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, zone) = zone_with(tmp.path(), EXPORTS, RECORDS);
    assert!(out.status.success(), "{}", stderr(&out));
    let explain = |name: &str| {
        run(dm_dns()
            .args(["explain", name, "--no-server", "--zone"])
            .arg(&zone))
    };
    let bucket = explain("bucket.s3.clan");
    assert_eq!(bucket.status.code(), Some(0), "{}", stdout(&bucket));
    assert!(
        stdout(&bucket).contains("matches the wildcard endpoint *.s3.clan")
            && stdout(&bucket).contains("from navidrome:music:server:alpha"),
        "{}",
        stdout(&bucket)
    );
    let console = explain("console.s3.clan");
    assert!(
        !stdout(&console).contains("wildcard"),
        "{}",
        stdout(&console)
    );
    let printer = explain("printer.clan");
    assert_eq!(printer.status.code(), Some(0));
    assert!(
        stdout(&printer).contains("printer.clan. A 192.168.1.20")
            && stdout(&printer).contains("from settings"),
        "{}",
        stdout(&printer)
    );
    let srv = explain("_ldap._tcp.clan");
    assert!(
        stdout(&srv).contains("SRV 10 5 389 alpha.clan."),
        "{}",
        stdout(&srv)
    );
    assert_eq!(explain("nothing.clan").status.code(), Some(1));
    // A reverse name: the PTR nodes derive, and where the address comes from.
    let ptr = explain("20.1.168.192.in-addr.arpa");
    assert_eq!(ptr.status.code(), Some(0), "{}", stdout(&ptr));
    assert!(
        stdout(&ptr).contains("PTR printer.clan.") && stdout(&ptr).contains("from settings"),
        "{}",
        stdout(&ptr)
    );
    let unknown = explain("99.1.168.192.in-addr.arpa");
    assert_eq!(unknown.status.code(), Some(1), "{}", stdout(&unknown));
    assert!(stdout(&unknown).contains("no address record of the zone is 192.168.1.99"));
}
