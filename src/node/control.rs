//! `unbound-control`, run under a timeout: a hung unbound never hangs the
//! caller. `install` reloads one zone with it; `install` and `status` ask
//! which serial unbound serves.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::dns::name::Domain;

/// How to run `unbound-control`: the program and its arguments before the
/// command (e.g. `unbound-control -s /run/unbound/unbound.ctl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub command: Vec<String>,
    /// How long one call may take before it is killed.
    pub timeout: Duration,
}

impl Control {
    /// `auth_zone_reload <domain>.`: reloads that zone only, keeps the cache.
    pub fn reload(&self, domain: &Domain) -> Result<(), String> {
        let output = self.run(&["auth_zone_reload", &format!("{domain}.")])?;
        if output.trim() == "ok" {
            return Ok(());
        }
        Err(format!(
            "{}: {}",
            self.describe(&["auth_zone_reload"]),
            output.trim()
        ))
    }

    /// The serial unbound serves for `domain` (`list_auth_zones`), if any.
    pub fn served_serial(&self, domain: &Domain) -> Result<Option<u32>, String> {
        let listing = self.run(&["list_auth_zones"])?;
        let zone = format!("{domain}.");
        Ok(listing.lines().find_map(|line| {
            let mut fields = line.split_whitespace();
            (fields.next() == Some(zone.as_str()) && fields.next() == Some("serial"))
                .then(|| fields.next()?.parse().ok())
                .flatten()
        }))
    }

    fn describe(&self, args: &[&str]) -> String {
        format!(
            "{} {}",
            self.command.first().map_or("", String::as_str),
            args.join(" ")
        )
    }

    /// Runs `<command> <args>` and returns its standard output; fails on a
    /// non-zero exit or after `timeout`, saying which.
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let what = self.describe(args);
        let (program, base) = self
            .command
            .split_first()
            .ok_or("the unbound-control command is empty")?;
        let mut child = Command::new(program)
            .args(base)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{what}: cannot run {program}: {e}"))?;
        // Read as it is written: a listing larger than a pipe's buffer would
        // otherwise stall the command until the timeout. (On a timeout the
        // readers are left to end with the pipes.)
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
                    std::thread::sleep(Duration::from_millis(10))
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

    /// A listing larger than a pipe's buffer (64 KB) is read while the
    /// command runs, not after: no wait for the timeout.
    #[test]
    fn large_output_does_not_stall_the_command() {
        let control = Control {
            command: vec![
                "sh".into(),
                "-c".into(),
                "head -c 300000 /dev/zero | tr '\\0' x; echo; echo 'clan. serial 7'".into(),
                "sh".into(),
            ],
            timeout: Duration::from_secs(20),
        };
        let started = Instant::now();
        let served = control.served_serial(&Domain::parse("clan").unwrap());
        assert_eq!(served, Ok(Some(7)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
