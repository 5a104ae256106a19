//! Shared helpers for the end-to-end tests: running the real `dm-dns` binary,
//! a real unbound on a free loopback port, and real `dig` queries.
//! Missing tools fail the tests: `.ci/run` installs them.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn dm_dns() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dm-dns"))
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Every file below `dir`, as sorted relative paths.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether `server` gets `ready` within 10 s; false at once if its process
/// (`child`) exits (the port was probably taken).
fn wait_ready<S>(server: &mut S, child: fn(&mut S) -> &mut Child, ready: fn(&S) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child(server).try_wait() {
            return false;
        }
        if ready(server) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// A real unbound serving on 127.0.0.1:`port`, stopped on drop.
pub struct Unbound {
    pub port: u16,
    pub config: PathBuf,
    child: Child,
}

impl Unbound {
    /// Starts unbound with `server_extra` inside `server:` and `tail` after it.
    pub fn start(dir: &Path, server_extra: &str, tail: &str) -> Unbound {
        for _attempt in 0..5 {
            let port = free_port();
            let config = dir.join("unbound.conf");
            let text = format!(
                "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  \
                 username: \"\"\n  chroot: \"\"\n  directory: \"{dir}\"\n  \
                 pidfile: \"{dir}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  \
                 verbosity: 1\n  do-daemonize: no\n  \
                 access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n\
                 {server_extra}\n\
                 remote-control:\n  control-enable: yes\n  \
                 control-interface: \"{dir}/control.sock\"\n\
                 {tail}\n",
                dir = dir.display()
            );
            std::fs::write(&config, text).unwrap();
            let check = run(Command::new("unbound-checkconf").arg(&config));
            assert!(
                check.status.success(),
                "unbound-checkconf refused the config: {}{}",
                stdout(&check),
                stderr(&check)
            );
            let child = Command::new("unbound")
                .arg("-d")
                .arg("-c")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("unbound must be installed (apt-get install unbound)");
            let mut server = Unbound {
                port,
                config: config.clone(),
                child,
            };
            let ready = |s: &Unbound| s.control(&["status"]).status.success();
            if wait_ready(&mut server, |s| &mut s.child, ready) {
                return server;
            }
        }
        panic!("unbound did not start");
    }

    pub fn control(&self, args: &[&str]) -> Output {
        run(Command::new("unbound-control")
            .arg("-c")
            .arg(&self.config)
            .args(args))
    }

    /// The `unbound-control` command line for `dm-dns install`.
    pub fn control_command(&self) -> String {
        format!("unbound-control -c {}", self.config.display())
    }

    /// `dig @127.0.0.1 -p PORT NAME TYPE`, returning the full output.
    pub fn dig(&self, name: &str, kind: &str) -> Dig {
        let out = run(Command::new("dig")
            .arg("@127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string())
            .args([name, kind, "+time=2", "+tries=2"]));
        assert!(
            out.status.success(),
            "dig must be installed (bind9-dnsutils) and reach unbound: {}",
            stderr(&out)
        );
        Dig(stdout(&out))
    }

    /// `dig -x ADDRESS`: the reverse lookup, as `dig` builds the name.
    pub fn dig_reverse(&self, address: &str) -> Dig {
        let out = run(Command::new("dig")
            .arg("@127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-x", address, "+time=2", "+tries=2"]));
        assert!(out.status.success(), "dig -x: {}", stderr(&out));
        Dig(stdout(&out))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops unbound; its control socket then answers nothing.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `dig` answer.
pub struct Dig(pub String);

impl Dig {
    pub fn status(&self) -> &str {
        self.0
            .split("status: ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or("(none)")
    }

    /// The ANSWER section's records as "name TYPE data" with the TTL dropped.
    pub fn answers(&self) -> Vec<String> {
        let Some(section) = self.0.split(";; ANSWER SECTION:\n").nth(1) else {
            return Vec::new();
        };
        section
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", f[0], f[3], f[4..].join(" "))
            })
            .collect()
    }
}

/// A real Knot DNS serving one zone `clan.` from `zone_file` on
/// 127.0.0.1:`port`, stopped on drop: the server the NixOS module puts
/// behind unbound (nix/lib/node.nix has the same settings).
pub struct Knot {
    pub port: u16,
    pub socket: PathBuf,
    child: Child,
}

impl Knot {
    /// Knot serving `clan.` from `zone_file` and each of `reverse` from
    /// `<name>.zone` beside it.
    pub fn start(dir: &Path, zone_file: &Path, reverse: &[&str]) -> Knot {
        let run_dir = dir.join("knot");
        std::fs::create_dir_all(&run_dir).unwrap();
        for _attempt in 0..5 {
            let port = free_port();
            let config = run_dir.join("knot.conf");
            let zone_dir = zone_file.parent().unwrap();
            let reverse_zones: String = reverse
                .iter()
                .map(|r| {
                    format!(
                        "  - domain: {r}.\n    file: \"{}\"\n",
                        zone_dir.join(format!("{r}.zone")).display()
                    )
                })
                .collect();
            let text = format!(
                "server:\n  rundir: \"{run}\"\n  listen: 127.0.0.1@{port}\n\
                 log:\n  - target: stderr\n    any: info\n\
                 database:\n  storage: \"{run}\"\n\
                 template:\n  - id: default\n    storage: \"{run}\"\n    zonefile-sync: -1\n    \
                 zonefile-load: whole\n    journal-content: none\n\
                 zone:\n  - domain: clan.\n    file: \"{zone}\"\n{reverse_zones}",
                run = run_dir.display(),
                zone = zone_file.display()
            );
            std::fs::write(&config, text).unwrap();
            let check = run(Command::new("knotc")
                .arg("-c")
                .arg(&config)
                .arg("conf-check"));
            assert!(
                check.status.success(),
                "knotc conf-check refused the config: {}{}",
                stdout(&check),
                stderr(&check)
            );
            let log = run_dir.join(format!("knotd-{port}.log"));
            let child = Command::new("knotd")
                .arg("-c")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("knotd must be installed (apt-get install knot)");
            let mut knot = Knot {
                port,
                socket: run_dir.join("knot.sock"),
                child,
            };
            let loaded = |k: &Knot| {
                k.control(&["zone-read", "clan.", "@", "SOA"])
                    .status
                    .success()
            };
            if wait_ready(&mut knot, |k| &mut k.child, loaded) {
                return knot;
            }
        }
        panic!("knotd did not start");
    }

    pub fn control(&self, args: &[&str]) -> Output {
        run(Command::new("knotc").arg("-s").arg(&self.socket).args(args))
    }

    /// Stops knotd; its control socket then answers nothing.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The `knotc` command line for `dm-dns install`.
    pub fn control_command(&self) -> String {
        format!("knotc -s {}", self.socket.display())
    }

    /// unbound's settings that send `clan.` and the `reverse` domains to
    /// this server, uncached, as nix/lib/node.nix writes them: (inside
    /// `server:`, after it).
    pub fn unbound_stub(&self, reverse: &[&str]) -> (String, String) {
        let (mut server, mut tail) = (String::new(), String::new());
        for name in std::iter::once(&"clan").chain(reverse) {
            // transparent: unbound's own local zones for private reverse
            // domains (192.168.in-addr.arpa) would answer first.
            server.push_str(&format!(
                "  domain-insecure: \"{name}.\"\n  local-zone: \"{name}.\" transparent\n"
            ));
            tail.push_str(&format!(
                "stub-zone:\n  name: \"{name}.\"\n  stub-addr: 127.0.0.1@{}\n  \
                 stub-no-cache: yes\n",
                self.port
            ));
        }
        (server, tail)
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
