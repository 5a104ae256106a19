//! A minimal DNS client over UDP, for `explain --server`: asks one name and
//! type, and reads back the status and the CNAME, A and AAAA answers. Only
//! what a local unbound sends is understood; anything else is an error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

pub const A: u16 = 1;
pub const CNAME: u16 = 5;
pub const AAAA: u16 = 28;

/// The answer to one query: the response code and the records as text
/// (`music.clan. CNAME alpha.clan.`).
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: &'static str,
    pub records: Vec<String>,
}

pub fn ask(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    timeout: Duration,
) -> Result<Answer, String> {
    let socket = UdpSocket::bind(if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .and_then(|s| s.set_read_timeout(Some(timeout)).map(|()| s))
    .map_err(|e| format!("opening a UDP socket: {e}"))?;
    let id = (std::process::id() as u16) ^ qtype;
    let query = encode(id, name, qtype)?;
    socket
        .send_to(&query, server)
        .map_err(|e| format!("asking {server}: {e}"))?;
    let mut buffer = [0u8; 4096];
    let (len, _) = socket.recv_from(&mut buffer).map_err(|e| {
        format!(
            "no answer from {server} within {} s ({e})",
            timeout.as_secs_f32()
        )
    })?;
    decode(&buffer[..len], id)
}

fn encode(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    // Header: id, flags 0 (no recursion wanted), one question.
    let mut out = Vec::with_capacity(32 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l));
        let len = len.ok_or_else(|| format!("{name:?} is not a DNS name"))?;
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    Ok(out)
}

fn decode(message: &[u8], id: u16) -> Result<Answer, String> {
    let bad = || "a malformed DNS answer".to_string();
    let u16_at = |at: usize| -> Result<u16, String> {
        message
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(bad)
    };
    if u16_at(0)? != id {
        return Err("an answer to another query".into());
    }
    let status = match u16_at(2)? & 0xf {
        0 => "NOERROR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        5 => "REFUSED",
        _ => "other error",
    };
    let (questions, answers) = (u16_at(4)?, u16_at(6)?);
    let mut at = 12;
    for _ in 0..questions {
        at = read_name(message, at)?.1 + 4;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        let (owner, after) = read_name(message, at)?;
        let (rtype, length) = (u16_at(after)?, usize::from(u16_at(after + 8)?));
        let data_at = after + 10;
        let data = message.get(data_at..data_at + length).ok_or_else(bad)?;
        let text = match (rtype, data.len()) {
            (A, 4) => format!(
                "A {}",
                IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3]))
            ),
            (AAAA, 16) => {
                let bytes: [u8; 16] = data.try_into().map_err(|_| bad())?;
                format!("AAAA {}", Ipv6Addr::from(bytes))
            }
            (CNAME, _) => format!("CNAME {}", read_name(message, data_at)?.0),
            _ => format!("TYPE{rtype}"),
        };
        records.push(format!("{owner} {text}"));
        at = data_at + length;
    }
    Ok(Answer { status, records })
}

/// A possibly compressed name at `at`: the name with a trailing dot, and
/// where the data after it starts.
fn read_name(message: &[u8], mut at: usize) -> Result<(String, usize), String> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *message.get(at).ok_or("a truncated name")?;
        match len {
            0 => {
                if name.is_empty() {
                    name.push('.');
                }
                return Ok((name, end.unwrap_or(at + 1)));
            }
            l if l & 0xc0 == 0xc0 => {
                let low = *message.get(at + 1).ok_or("a truncated name")?;
                end.get_or_insert(at + 2);
                at = usize::from(l & 0x3f) << 8 | usize::from(low);
            }
            l => {
                let label = message
                    .get(at + 1..at + 1 + usize::from(l))
                    .ok_or("a truncated name")?;
                name.push_str(&String::from_utf8_lossy(label));
                name.push('.');
                at += 1 + usize::from(l);
            }
        }
    }
    Err("a name with a pointer loop".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_compressed_answer() {
        // music.clan. CNAME alpha.clan. ; alpha.clan. A 10.0.0.1
        let mut m = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x05music\x04clan\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 8]);
        m.extend_from_slice(b"\x05alpha\xc0\x12");
        m.extend_from_slice(&[0xc0, 40, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 1]);
        let answer = decode(&m, 0x1234).unwrap();
        assert_eq!(answer.status, "NOERROR");
        assert_eq!(
            answer.records,
            ["music.clan. CNAME alpha.clan.", "alpha.clan. A 10.0.0.1"]
        );
        assert!(decode(&m[..30], 0x1234).is_err());
        assert!(decode(&m, 0x9999).is_err());
    }

    #[test]
    fn pointer_loops_end() {
        let m = [0u8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12];
        assert!(read_name(&m, 12).is_err());
    }
}
