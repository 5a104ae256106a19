//! A minimal DNS client over UDP, for `explain --server`: asks one name and
//! type, and reads back the status and the CNAME, A and AAAA answers. It
//! trusts only its server: the socket is connected to it (the kernel drops
//! datagrams from anyone else), the id is random, and an answer counts only
//! if it is a response to exactly this question; anything else that arrives
//! is ignored until the timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

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
    .and_then(|s| s.connect(server).map(|()| s))
    .map_err(|e| format!("opening a UDP socket to {server}: {e}"))?;
    let id = random_id()?;
    let query = encode(id, name, qtype)?;
    socket
        .send(&query)
        .map_err(|e| format!("asking {server}: {e}"))?;
    let deadline = Instant::now() + timeout;
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let received = socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .and_then(|()| socket.recv(&mut buffer));
        let len = match received {
            Ok(len) => len,
            Err(e) if left.is_zero() || is_timeout(&e) => {
                return Err(format!(
                    "no answer from {server} within {} s",
                    timeout.as_secs_f32()
                ));
            }
            Err(e) => return Err(format!("asking {server}: {e}")),
        };
        match decode(&buffer[..len], id, &query[12..]) {
            Ok(answer) => return Ok(answer),
            // Not the answer to this question: ignored, as a resolver would.
            Err(Stray) => continue,
            Err(Refused(why)) => return Err(format!("{server} sent {why}")),
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// A query id nobody else can guess.
fn random_id() -> Result<u16, String> {
    let mut bytes = [0u8; 2];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into `bytes`.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if got != 2 {
        return Err(format!(
            "reading random bytes: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(u16::from_ne_bytes(bytes))
}

/// Why a datagram is not the answer.
#[derive(Debug, PartialEq, Eq)]
enum NotTheAnswer {
    /// Not a response to this query (another id or question, not a
    /// response at all): ignored.
    Stray,
    /// The response to this query, but unusable: said.
    Refused(String),
}
use NotTheAnswer::{Refused, Stray};

fn encode(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    // Header: id, recursion desired (as the system resolver asks: unbound
    // asks Knot, behind it, only then), one question.
    let mut out = Vec::with_capacity(32 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
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

/// The answer in `message`, if it is the response to the query whose id
/// is `id` and whose question section is `question` (as sent).
fn decode(message: &[u8], id: u16, question: &[u8]) -> Result<Answer, NotTheAnswer> {
    let header = |at: usize| -> Option<u16> {
        message
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let (Some(got_id), Some(flags), Some(questions)) = (header(0), header(2), header(4)) else {
        return Err(Stray);
    };
    let echoed = message
        .get(12..12 + question.len())
        .is_some_and(|q| q.eq_ignore_ascii_case(question));
    if got_id != id || flags & 0x8000 == 0 || questions != 1 || !echoed {
        return Err(Stray);
    }
    if flags & 0x0200 != 0 {
        return Err(Refused("a truncated answer (TC): too large for UDP".into()));
    }
    decode_answers(message, flags, 12 + question.len()).map_err(Refused)
}

fn decode_answers(message: &[u8], flags: u16, mut at: usize) -> Result<Answer, String> {
    let bad = || "a malformed DNS answer".to_string();
    let u16_at = |at: usize| -> Result<u16, String> {
        message
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(bad)
    };
    let status = match flags & 0xf {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "another error",
    };
    let answers = u16_at(6)?;
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
                // Presentation form: whatever the server sent, nothing
                // reaches a terminal but printable ASCII.
                for &b in label {
                    match b {
                        b'.' | b'\\' => {
                            name.push('\\');
                            name.push(char::from(b));
                        }
                        0x21..=0x7e => name.push(char::from(b)),
                        _ => name.push_str(&format!("\\{b:03}")),
                    }
                }
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
        let question = b"\x05music\x04clan\x00\x00\x01\x00\x01";
        let answer = decode(&m, 0x1234, question).unwrap();
        assert_eq!(answer.status, "NOERROR");
        assert_eq!(
            answer.records,
            ["music.clan. CNAME alpha.clan.", "alpha.clan. A 10.0.0.1"]
        );
        assert!(matches!(
            decode(&m[..30], 0x1234, question),
            Err(Refused(_))
        ));
        // Another id, another question, or a query, not a response: stray.
        assert_eq!(decode(&m, 0x9999, question), Err(Stray));
        assert_eq!(
            decode(&m, 0x1234, b"\x05other\x04clan\x00\x00\x01\x00\x01"),
            Err(Stray)
        );
        let mut query = m.clone();
        query[2] = 0x04;
        assert_eq!(decode(&query, 0x1234, question), Err(Stray));
        let mut truncated = m.clone();
        truncated[2] |= 0x02;
        assert!(matches!(
            decode(&truncated, 0x1234, question),
            Err(Refused(_))
        ));
        let mut failed = m.clone();
        failed[3] = 0x02;
        assert_eq!(
            decode(&failed, 0x1234, question).unwrap().status,
            "SERVFAIL"
        );
    }

    /// A server that first sends a forged answer (another id), then the
    /// real one: the forged one is ignored.
    #[test]
    fn stray_answers_are_ignored_until_the_real_one() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = server.local_addr().unwrap();
        let replier = std::thread::spawn(move || {
            let mut buffer = [0u8; 512];
            let (len, client) = server.recv_from(&mut buffer).unwrap();
            let query = &buffer[..len];
            let answer = |id: [u8; 2]| {
                let mut m = id.to_vec();
                m.extend_from_slice(&[0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]);
                m.extend_from_slice(&query[12..]);
                m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 7]);
                m
            };
            let forged = [query[0] ^ 0xff, query[1]];
            server.send_to(&answer(forged), client).unwrap();
            server
                .send_to(&answer([query[0], query[1]]), client)
                .unwrap();
        });
        let answer = ask(address, "music.clan", A, Duration::from_secs(2)).unwrap();
        replier.join().unwrap();
        assert_eq!(answer.records, ["music.clan. A 10.0.0.7"]);
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = ask(
            silent.local_addr().unwrap(),
            "music.clan",
            A,
            Duration::from_millis(200),
        );
        assert!(err.unwrap_err().contains("no answer"));
    }

    #[test]
    fn names_are_printed_escaped() {
        let m = b"\x03a\x1bb\x04c.\\d\x00";
        assert_eq!(read_name(m, 0).unwrap().0, "a\\027b.c\\.\\\\d.");
    }

    #[test]
    fn pointer_loops_end() {
        let m = [0u8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12];
        assert!(read_name(&m, 12).is_err());
    }
}
