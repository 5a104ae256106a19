//! The server that holds the zone in memory, reached through its control
//! program under a timeout (a hung server never hangs the caller): unbound's
//! auth-zone through `unbound-control`, or Knot DNS through `knotc`.
//! `install` puts a new zone in service with it; `install` and `status` ask
//! which serial it serves.
//!
//! The two differ in what clients see during an update (README,
//! "Benchmarks"): unbound reads the whole file while holding the zone's
//! lock, so it answers nothing for that long; Knot loads a new zone beside
//! the old one and swaps them, and applies a small change as a transaction
//! of only the changed records.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::dns::name::Domain;

/// Which server holds the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// unbound's auth-zone (`unbound-control`).
    Unbound,
    /// A Knot DNS zone, behind unbound as a stub zone (`knotc`).
    Knot,
}

impl Server {
    pub fn name(self) -> &'static str {
        match self {
            Server::Unbound => "unbound",
            Server::Knot => "knot",
        }
    }

    /// The systemd unit that runs it on a NixOS node.
    pub fn unit(self) -> &'static str {
        match self {
            Server::Unbound => "unbound",
            Server::Knot => "dm-dns-knot",
        }
    }
}

/// What a reload request left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// The zone was read; the server serves the file (or said it could not).
    Done,
    /// The server reads the file in the background.
    Started,
}

/// How to run the control program: the program and its arguments before the
/// command (e.g. `unbound-control -s /run/unbound/unbound.ctl`, `knotc -s
/// /run/dm-dns-knot/knot.sock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub server: Server,
    pub command: Vec<String>,
    /// How long one call may take before it is killed.
    pub timeout: Duration,
}

impl Control {
    /// Reloads that zone only from its file. unbound reads it before it
    /// answers (and keeps its cache); Knot loads it in the background beside
    /// the served zone, swaps them when done, and keeps the old one if the
    /// file does not load: the caller then asks which serial it serves.
    pub fn reload(&self, domain: &Domain) -> Result<Reload, String> {
        let zone = format!("{domain}.");
        let (args, expected, reload): (&[&str], _, _) = match self.server {
            Server::Unbound => (&["auth_zone_reload", &zone], "ok", Reload::Done),
            Server::Knot => {
                // A transaction left open (by a run killed midway) would hold
                // the load back: end it first. Installs run one at a time, so
                // none of theirs is lost. Never `knotc -b`: a blocking reload
                // behind an open transaction stops Knot's control channel,
                // the only way to end that transaction (Knot 3.2).
                let _ = self.run(&["zone-abort", &zone], None);
                (&["zone-reload", &zone], "OK", Reload::Started)
            }
        };
        let output = self.run(args, None)?;
        if output.trim() == expected {
            return Ok(reload);
        }
        Err(format!("{}: {}", self.describe(args), output.trim()))
    }

    /// The serial served for `domain`, if the server holds that zone.
    pub fn served_serial(&self, domain: &Domain) -> Result<Option<u32>, String> {
        let zone = format!("{domain}.");
        match self.server {
            Server::Unbound => {
                let listing = self.run(&["list_auth_zones"], None)?;
                Ok(listing.lines().find_map(|line| {
                    let mut fields = line.split_whitespace();
                    (fields.next() == Some(zone.as_str()) && fields.next() == Some("serial"))
                        .then(|| fields.next()?.parse().ok())
                        .flatten()
                }))
            }
            Server::Knot => {
                // `[clan.] clan. 300 SOA localhost. nobody.invalid. 7 3600 ...`
                let args = ["zone-read", &zone, "@", "SOA"];
                match self.run(&args, None) {
                    Ok(listing) => Ok(listing.lines().find_map(|line| {
                        let fields: Vec<&str> = line.split_whitespace().collect();
                        let at = fields.iter().position(|f| *f == "SOA")?;
                        fields.get(at + 3)?.parse().ok()
                    })),
                    Err(e) if e.contains("no such zone") => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Applies `edits` (knotc `zone-set`/`zone-unset` commands, one a line)
    /// to the served zone as one transaction. The transaction is committed
    /// only if every edit was accepted; otherwise it is aborted and the
    /// served zone is as it was. Knot only.
    pub fn apply(&self, domain: &Domain, edits: &str) -> Result<(), String> {
        debug_assert_eq!(self.server, Server::Knot);
        let zone = format!("{domain}.");
        let script = format!("zone-begin {zone}\n{edits}");
        let commands = script.lines().count();
        // knotc reads commands from standard input and carries on after one
        // fails, so the answers are counted before anything is committed.
        let output = self.run(&[], Some(script.into_bytes()));
        let accepted = output
            .as_ref()
            .is_ok_and(|out| out.lines().filter(|l| l.trim() == "OK").count() == commands);
        if !accepted {
            let _ = self.run(&["zone-abort", &zone], None);
            return Err(match output {
                Ok(out) => format!(
                    "knotc refused an edit of the transaction: {}",
                    out.lines()
                        .find(|l| l.trim() != "OK")
                        .unwrap_or_default()
                        .trim()
                ),
                Err(e) => e,
            });
        }
        let committed = self.run(&["zone-commit", &zone], None);
        match committed {
            Ok(out) if out.trim() == "OK" => Ok(()),
            other => {
                let _ = self.run(&["zone-abort", &zone], None);
                Err(match other {
                    Ok(out) => format!("{}: {}", self.describe(&["zone-commit"]), out.trim()),
                    Err(e) => e,
                })
            }
        }
    }

    /// The program's name and `args`, for messages.
    pub fn describe(&self, args: &[&str]) -> String {
        format!(
            "{} {}",
            self.command.first().map_or("", String::as_str),
            args.join(" ")
        )
    }

    /// Runs `<command> <args>` (with `input` on its standard input) and
    /// returns its standard output; fails on a non-zero exit or after
    /// `timeout`, saying which.
    fn run(&self, args: &[&str], input: Option<Vec<u8>>) -> Result<String, String> {
        let what = self.describe(args);
        let (program, base) = self.command.split_first().ok_or(format!(
            "the {} control command is empty",
            self.server.name()
        ))?;
        let mut command = Command::new(program);
        // The program dies with its caller: a control command that outlived
        // an install killed midway could act after the next run began (and
        // open a Knot transaction behind its back).
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .args(base)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{what}: cannot run {program}: {e}"))?;
        // Written and read as the program goes: a listing larger than a
        // pipe's buffer would otherwise stall it until the timeout. (On a
        // timeout the threads are left to end with the pipes.)
        if let (Some(mut stdin), Some(bytes)) = (child.stdin.take(), input) {
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Tenths are enough to say how long was waited.
                    let waited = (self.timeout.as_secs_f64() * 10.0).round() / 10.0;
                    return Err(format!("{what}: no answer within {waited} s"));
                }
                Err(e) => return Err(format!("{what}: waiting for {program}: {e}")),
            }
        };
        let read = |reader: std::thread::JoinHandle<Vec<u8>>| {
            String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned()
        };
        let (stdout, stderr) = (read(stdout), read(stderr));
        if status.success() {
            return Ok(stdout);
        }
        Err(format!(
            "{what}: {status}: {}{}",
            stdout.trim(),
            stderr.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stand_in(server: Server, script: &str) -> Control {
        Control {
            server,
            command: vec!["sh".into(), "-c".into(), script.into(), "sh".into()],
            timeout: Duration::from_secs(20),
        }
    }

    /// A listing larger than a pipe's buffer (64 KB) is read while the
    /// command runs, not after: no wait for the timeout.
    #[test]
    fn large_output_does_not_stall_the_command() {
        let control = stand_in(
            Server::Unbound,
            "head -c 300000 /dev/zero | tr '\\0' x; echo; echo 'clan. serial 7'",
        );
        let started = Instant::now();
        let served = control.served_serial(&Domain::parse("clan").unwrap());
        assert_eq!(served, Ok(Some(7)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn reads_knots_serial() {
        let clan = Domain::parse("clan").unwrap();
        let control = stand_in(
            Server::Knot,
            "echo '[clan.] clan. 300 SOA localhost. nobody.invalid. 4107 3600 600 86400 300'",
        );
        assert_eq!(control.served_serial(&clan), Ok(Some(4107)));
        let missing = stand_in(
            Server::Knot,
            "echo 'error: (no such zone found) [clan.] @ SOA' >&2; exit 1",
        );
        assert_eq!(missing.served_serial(&clan), Ok(None));
    }

    /// One refused edit aborts the whole transaction: nothing is committed.
    #[test]
    fn a_refused_edit_aborts_the_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let script = format!(
            "if [ $# -eq 0 ]; then echo OK; echo 'error: (invalid)'; else echo \"$*\" >> '{}'; echo OK; fi",
            log.display()
        );
        let control = stand_in(Server::Knot, &script);
        let clan = Domain::parse("clan").unwrap();
        let edits = "zone-set clan. a.clan. 300 A 10.0.0.1\n";
        let error = control.apply(&clan, edits).unwrap_err();
        assert!(error.contains("(invalid)"), "{error}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "zone-abort clan.\n");
    }
}
