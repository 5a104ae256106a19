//! An IP address's canonical text (the one `Display` writes: RFC 5952 for
//! IPv6), written into a small buffer without the formatting machinery.
//! Every address of a large clan is written three times (`zone.conf`,
//! `zone.db`, the manifest) and compared once with its exported text, and
//! `Display` costs several times what the record's other bytes do.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The canonical text of one address; `Display` writes the same.
#[derive(Clone, Copy)]
pub struct IpText {
    bytes: [u8; MAX_LEN],
    len: u8,
}

/// `::ffff:255.255.255.255`, the longest text there is.
const MAX_LEN: usize = 45;

const HEX: &[u8; 16] = b"0123456789abcdef";

impl IpText {
    pub fn of(address: &IpAddr) -> IpText {
        let mut text = IpText {
            bytes: [0; MAX_LEN],
            len: 0,
        };
        match address {
            IpAddr::V4(v4) => text.push_v4(v4),
            IpAddr::V6(v6) => text.push_v6(v6),
        }
        text
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits, hex digits, '.' and ':' are ever pushed.
        std::str::from_utf8(&self.bytes[..self.len as usize]).expect("ASCII")
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len as usize] = byte;
        self.len += 1;
    }

    fn push_v4(&mut self, address: &Ipv4Addr) {
        for (i, octet) in address.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            if octet >= 100 {
                self.push(b'0' + octet / 100);
            }
            if octet >= 10 {
                self.push(b'0' + octet / 10 % 10);
            }
            self.push(b'0' + octet % 10);
        }
    }

    fn push_group(&mut self, group: u16) {
        let digits = (16 - group.leading_zeros()).div_ceil(4).max(1);
        for shift in (0..digits).rev() {
            self.push(HEX[(group >> (shift * 4) & 0xf) as usize]);
        }
    }

    fn push_groups(&mut self, groups: &[u16]) {
        for (i, &group) in groups.iter().enumerate() {
            if i > 0 {
                self.push(b':');
            }
            self.push_group(group);
        }
    }

    fn push_v6(&mut self, address: &Ipv6Addr) {
        if let Some(v4) = address.to_ipv4_mapped() {
            b"::ffff:".iter().for_each(|&b| self.push(b));
            return self.push_v4(&v4);
        }
        let groups = address.segments();
        // The first longest run of two or more zero groups becomes `::`.
        let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
        for (i, &group) in groups.iter().enumerate() {
            if group != 0 {
                run_len = 0;
                continue;
            }
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run, run_len);
            }
        }
        if best_len < 2 {
            return self.push_groups(&groups);
        }
        self.push_groups(&groups[..best]);
        self.push(b':');
        self.push(b':');
        self.push_groups(&groups[best + best_len..]);
    }
}

impl fmt::Display for IpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn writes_what_display_writes() {
        for text in [
            "0.0.0.0",
            "10.0.0.1",
            "192.168.100.255",
            "::",
            "::1",
            "1::",
            "200:1:2:3::1",
            "fd00::21",
            "1:0:1:0:0:1:0:1",
            "1:0:0:1:0:0:1:1",
            "0:1:1:1:1:1:1:0",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let address: IpAddr = text.parse().unwrap();
            assert_eq!(IpText::of(&address).as_str(), address.to_string());
        }
    }

    fn group() -> impl Strategy<Value = u16> {
        // Mostly zeros and short groups, where the compression choices lie.
        prop_oneof![
            Just(0u16),
            Just(0xffff),
            0..16u16,
            0..0x1000u16,
            any::<u16>()
        ]
    }

    proptest! {
        #[test]
        fn any_v6_is_written_as_display_writes_it(groups in prop::array::uniform8(group())) {
            let address = IpAddr::V6(Ipv6Addr::from(groups));
            prop_assert_eq!(IpText::of(&address).to_string(), address.to_string());
        }

        #[test]
        fn any_v4_is_written_as_display_writes_it(octets in any::<[u8; 4]>()) {
            let address = IpAddr::V4(Ipv4Addr::from(octets));
            prop_assert_eq!(IpText::of(&address).to_string(), address.to_string());
        }
    }
}
