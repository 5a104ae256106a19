//! A node for end-to-end tests: keys, a zone file served by a real
//! unbound's auth-zone or by a real Knot DNS behind a real unbound, and
//! `dm-dns install` run against it as the NixOS module runs it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Knot, Unbound, dm_dns, run, stderr, stdout};

/// A node: keys, a zone file served by unbound's auth-zone (or by Knot,
/// which unbound asks), install state.
pub struct Node {
    pub dir: PathBuf,
    pub unbound: Unbound,
    pub knot: Option<Knot>,
    /// Reverse domains the node answers (`install --reverse-zone`).
    pub reverse: Vec<String>,
}

pub const HOSTS: &str = "127.0.0.1 localhost\n10.0.0.1 alpha.clan alpha\n10.0.0.2 beta.clan\n";

pub fn exports(music_machine: &str, extra: &str) -> String {
    format!(
        r#"{{"navidrome:music:server:{music_machine}":{{"endpoints":{{"hosts":["music.clan"{extra}]}}}},
            "gitea:forge:server:beta":{{"endpoints":{{"hosts":["git.clan"]}}}},
            "dm:dns:default:alpha":{{"dataMesher":null}}}}"#
    )
}

pub fn keygen(private: &Path, public: &Path) -> Command {
    let mut cmd = dm_dns();
    cmd.args(["keygen", "--private-key-path"])
        .arg(private)
        .arg("--public-key-path")
        .arg(public);
    cmd
}

/// `dm-dns zone` of `exports_json` into `dir/<name>-zone`.
pub fn build_zone(dir: &Path, exports_json: &str, name: &str) -> PathBuf {
    build_zone_with(dir, exports_json, None, name)
}

/// The same, with declared records (`zone --records`).
pub fn build_zone_with(
    dir: &Path,
    exports_json: &str,
    records_json: Option<&str>,
    name: &str,
) -> PathBuf {
    let exports_file = dir.join(format!("{name}.json"));
    std::fs::write(&exports_file, exports_json).unwrap();
    let zone_dir = dir.join(format!("{name}-zone"));
    let mut zone = dm_dns();
    zone.args(["zone", "--domain", "clan", "--exports"])
        .arg(&exports_file)
        .arg("--out")
        .arg(&zone_dir);
    if let Some(records) = records_json {
        let records_file = dir.join(format!("{name}-records.json"));
        std::fs::write(&records_file, records).unwrap();
        zone.arg("--records").arg(records_file);
    }
    let zone = run(&mut zone);
    assert!(zone.status.success(), "{}", stderr(&zone));
    zone_dir
}

impl Node {
    pub fn start() -> (tempfile::TempDir, Node) {
        Node::start_with_hosts(HOSTS)
    }

    /// A node whose own address records (`--hosts`) are `hosts`.
    pub fn start_with_hosts(hosts: &str) -> (tempfile::TempDir, Node) {
        Node::start_auth_zones(hosts, &[])
    }

    /// A node whose unbound serves the zone and the `reverse` domains from
    /// auth-zones of their own.
    pub fn start_auth_zones(hosts: &str, reverse: &[&str]) -> (tempfile::TempDir, Node) {
        let (tmp, dir) = Node::boot(hosts, reverse);
        let zones = std::iter::once(("clan", "clan.zone".to_owned()))
            .chain(reverse.iter().map(|r| (*r, format!("{r}.zone"))));
        let (mut insecure, mut auth) = (String::new(), String::new());
        for (name, file) in zones {
            // transparent: unbound's own local zones for private reverse
            // domains (192.168.in-addr.arpa) would answer first.
            insecure.push_str(&format!(
                "  domain-insecure: \"{name}.\"\n  local-zone: \"{name}.\" transparent\n"
            ));
            auth.push_str(&format!(
                "auth-zone:\n  name: \"{name}.\"\n  zonefile: \"{}\"\n  for-downstream: yes\n  \
                 for-upstream: yes\n  fallback-enabled: no\n",
                dir.join(file).display()
            ));
        }
        let unbound = Unbound::start(&dir, &insecure, &auth);
        let node = Node {
            dir,
            unbound,
            knot: None,
            reverse: reverse.iter().map(|r| (*r).to_owned()).collect(),
        };
        (tmp, node)
    }

    /// A node whose zone Knot serves, and unbound asks Knot for it (the
    /// NixOS module's set-up).
    pub fn start_knot() -> (tempfile::TempDir, Node) {
        Node::start_knot_with_reverse(&[])
    }

    /// The same, Knot also serving the `reverse` domains.
    pub fn start_knot_with_reverse(reverse: &[&str]) -> (tempfile::TempDir, Node) {
        let (tmp, dir) = Node::boot(HOSTS, reverse);
        let knot = Knot::start(&dir, &dir.join("clan.zone"), reverse);
        let (server, tail) = knot.unbound_stub(reverse);
        let unbound = Unbound::start(&dir, &server, &tail);
        let node = Node {
            dir,
            unbound,
            knot: Some(knot),
            reverse: reverse.iter().map(|r| (*r).to_owned()).collect(),
        };
        (tmp, node)
    }

    /// `--reverse-zone` for each of the node's reverse domains.
    pub fn reverse_args(reverse: &[impl AsRef<str>]) -> Vec<String> {
        reverse
            .iter()
            .flat_map(|r| ["--reverse-zone".to_owned(), r.as_ref().to_owned()])
            .collect()
    }

    /// Keys, hosts and the zones written before any server starts.
    fn boot(hosts: &str, reverse: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        let keys = run(&mut keygen(
            &dir.join("signing.key"),
            &dir.join("signing.pub"),
        ));
        assert!(keys.status.success(), "{}", stderr(&keys));
        std::fs::write(dir.join("hosts"), hosts).unwrap();
        // Before unbound starts: no mesh file yet, a zone of our own records.
        let boot = install_cmd(&dir, None)
            .arg("--no-reload")
            .args(Node::reverse_args(reverse))
            .output()
            .unwrap();
        assert!(boot.status.success(), "{}", stderr(&boot));
        assert!(stderr(&boot).contains("no "), "{}", stderr(&boot));
        (tmp, dir)
    }

    /// The install flag that names the server holding the zone, and its
    /// control command.
    pub fn control(&self) -> [String; 2] {
        match &self.knot {
            Some(knot) => ["--knot-control".into(), knot.control_command()],
            None => ["--unbound-control".into(), self.unbound.control_command()],
        }
    }

    /// Builds and signs a zone; returns the signed file's path.
    pub fn signed_zone(&self, exports_json: &str, serial: u64, name: &str) -> PathBuf {
        self.signed_zone_with(exports_json, None, serial, name)
    }

    /// The same, with declared records.
    pub fn signed_zone_with(
        &self,
        exports_json: &str,
        records_json: Option<&str>,
        serial: u64,
        name: &str,
    ) -> PathBuf {
        let zone_dir = build_zone_with(&self.dir, exports_json, records_json, name);
        let out = self.dir.join(format!("{name}.signed"));
        let sign = run(dm_dns()
            .args(["sign", "--key"])
            .arg(self.dir.join("signing.key"))
            .arg("--zone")
            .arg(&zone_dir)
            .args(["--serial", &serial.to_string(), "--out"])
            .arg(&out));
        assert!(sign.status.success(), "{}", stderr(&sign));
        out
    }

    /// Installs serial `serial` with music on `machine`; it must succeed.
    pub fn installed(&self, machine: &str, serial: u64) {
        let out = self.deliver(&self.signed_zone(&exports(machine, ""), serial, "installed"));
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// Puts a signed zone of serial `serial` with music on `machine` where
    /// data-mesher would, without installing it.
    pub fn arrives(&self, machine: &str, serial: u64) {
        let signed = self.signed_zone(&exports(machine, ""), serial, "arriving");
        std::fs::copy(signed, self.dir.join("cnames")).unwrap();
    }

    /// Puts `file` where data-mesher would and runs `dm-dns install`.
    pub fn deliver(&self, file: &Path) -> Output {
        std::fs::copy(file, self.dir.join("cnames")).unwrap();
        self.install()
    }

    /// Installs serial 10 (music on alpha), then runs an install of serial
    /// 11 (music on beta) that is killed between the swap and the reload.
    pub fn kill_an_install_before_its_reload(&self) -> Output {
        assert!(
            self.deliver(&self.signed_zone(&exports("alpha", ""), 10, "a"))
                .status
                .success()
        );
        // unbound's reload, Knot's reload or transaction (commands on
        // standard input: no arguments after the socket's).
        let killer = control_wrapper(
            self,
            "killing-control",
            "case \"$*\" in *auth_zone_reload*|*zone-reload*|*.sock) kill -KILL $PPID; sleep 5;; esac",
        );
        std::fs::copy(
            self.signed_zone(&exports("beta", ""), 11, "b"),
            self.dir.join("cnames"),
        )
        .unwrap();
        run(install_cmd(&self.dir, None).args([&self.control()[0], &killer]))
    }

    pub fn install(&self) -> Output {
        run(install_cmd(&self.dir, None)
            .args(self.control())
            .args(Node::reverse_args(&self.reverse)))
    }

    /// A node configuration as the NixOS module writes it, at
    /// `dir/node.json`: what install, status and explain read by default.
    pub fn write_config(&self) -> PathBuf {
        let path = self.dir.join("node.json");
        let control: Vec<String> = self.control()[1]
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let key = match &self.knot {
            Some(_) => "knot_control",
            None => "unbound_control",
        };
        let mut config = serde_json::json!({
            "domain": "clan",
            "trusted_keys": [self.dir.join("signing.pub")],
            "mesh_file": self.dir.join("cnames"),
            "zone_file": self.dir.join("clan.zone"),
            "state_dir": self.dir.join("state"),
            "hosts": { "10.0.0.1": ["alpha.clan"], "10.0.0.2": ["beta.clan"] },
            "server": format!("127.0.0.1:{}", self.unbound.port),
            "redeploy": "clan machines update alpha",
        });
        config[key] = control.into();
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        path
    }

    pub fn music(&self) -> Vec<String> {
        self.unbound.dig("music.clan", "A").answers()
    }

    pub fn zone_bytes(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("clan.zone")).unwrap()
    }
}

pub fn install_cmd(dir: &Path, unbound: Option<&Unbound>) -> Command {
    install_mesh_cmd(dir, &dir.join("cnames"), unbound)
}

pub fn install_mesh_cmd(dir: &Path, mesh: &Path, unbound: Option<&Unbound>) -> Command {
    let mut cmd = dm_dns();
    cmd.arg("install")
        .arg("--mesh-file")
        .arg(mesh)
        .arg("--trusted-key")
        .arg(dir.join("signing.pub"))
        .args(["--domain", "clan", "--hosts"])
        .arg(dir.join("hosts"))
        .arg("--zone-file")
        .arg(dir.join("clan.zone"))
        .arg("--state-dir")
        .arg(dir.join("state"));
    if let Some(u) = unbound {
        cmd.arg("--unbound-control").arg(u.control_command());
    }
    cmd
}

pub const MUSIC_ON_ALPHA: [&str; 2] = ["music.clan. CNAME alpha.clan.", "alpha.clan. A 10.0.0.1"];
pub const MUSIC_ON_BETA: [&str; 2] = ["music.clan. CNAME beta.clan.", "beta.clan. A 10.0.0.2"];

/// A stand-in for the node's control program (unbound-control or knotc)
/// that runs `before` (shell) and then the real one with the node's
/// arguments.
pub fn control_wrapper(node: &Node, name: &str, before: &str) -> String {
    let real = &node.control()[1];
    let (program, args) = real.split_once(' ').unwrap_or((real, ""));
    let script = node.dir.join(name);
    std::fs::write(
        &script,
        format!("#!/bin/sh\n{before}\nexec {program} \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{} {args}", script.display())
}

/// The serial the server holding the zone serves, as its own control
/// program says.
pub fn served_serial(node: &Node) -> Option<u64> {
    let listing = match &node.knot {
        // `[clan.] clan. 300 SOA localhost. nobody.invalid. 7 ...`
        Some(knot) => stdout(&knot.control(&["zone-read", "clan.", "@", "SOA"]))
            .split_whitespace()
            .skip_while(|f| *f != "SOA")
            .nth(3)
            .map(str::to_owned),
        // `clan.	serial 7`
        None => stdout(&node.unbound.control(&["list_auth_zones"]))
            .lines()
            .find(|l| l.starts_with("clan."))
            .and_then(|l| l.split_whitespace().nth(2))
            .map(str::to_owned),
    };
    listing?.parse().ok()
}
