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
    /// The text, then room for a last four-byte store (`push4`).
    bytes: [u8; MAX_LEN + 3],
    len: u8,
}

/// `::ffff:255.255.255.255`, the longest text there is.
const MAX_LEN: usize = 45;

/// Each octet's decimal digits, then how many there are.
const DECIMAL: [[u8; 4]; 256] = {
    let mut table = [[0u8; 4]; 256];
    let mut octet = 0;
    while octet < 256 {
        let (hundreds, tens, ones) = (octet / 100, octet / 10 % 10, octet % 10);
        let digits = [b'0' + hundreds as u8, b'0' + tens as u8, b'0' + ones as u8];
        table[octet] = match octet {
            0..=9 => [digits[2], 0, 0, 1],
            10..=99 => [digits[1], digits[2], 0, 2],
            _ => [digits[0], digits[1], digits[2], 3],
        };
        octet += 1;
    }
    table
};

impl IpText {
    pub fn of(address: &IpAddr) -> IpText {
        let mut text = IpText {
            bytes: [0; MAX_LEN + 3],
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
        std::str::from_utf8(self.as_bytes()).expect("ASCII")
    }

    /// The text's bytes, for writers and comparisons: what `as_str` holds,
    /// without its check (ASCII only).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len as usize] = byte;
        self.len += 1;
    }

    /// Appends the first `len` of `four`: one store of all four, the rest
    /// overwritten by what comes next (or past the text's end).
    fn push4(&mut self, four: [u8; 4], len: u8) {
        let at = self.len as usize;
        self.bytes[at..at + 4].copy_from_slice(&four);
        self.len += len;
    }

    fn push_v4(&mut self, address: &Ipv4Addr) {
        for (i, octet) in address.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            let [a, b, c, len] = DECIMAL[usize::from(octet)];
            self.push4([a, b, c, 0], len);
        }
    }

    /// A group's hex digits without leading zeros (at least one): all four
    /// nibbles made ASCII at once, the leading zeros shifted out.
    fn push_group(&mut self, group: u16) {
        let digits = (16 - group.leading_zeros()).div_ceil(4).max(1);
        let g = u32::from(group);
        // One nibble a byte, the most significant in the lowest byte.
        let nibbles = (g >> 12) | (g >> 8 & 0xf) << 8 | (g >> 4 & 0xf) << 16 | (g & 0xf) << 24;
        // 0x01 in each byte whose nibble is ten or more.
        let letters = (nibbles + 0x0606_0606) >> 4 & 0x0101_0101;
        let ascii = nibbles + 0x3030_3030 + letters * u32::from(b'a' - b'0' - 10);
        self.push4((ascii >> (8 * (4 - digits))).to_le_bytes(), digits as u8);
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

/// An IP literal as `IpAddr::from_str` reads it, and whether `text` is
/// already canonical (what `IpText` writes). Read here, in a fraction of
/// the standard parser's time (a large clan exports hundreds of thousands
/// of peer addresses); property tests hold the two to the same results.
/// IPv4's grammar (four decimal octets, no leading zero, none above 255)
/// admits only canonical text.
pub fn parse_canonical(text: &str) -> Option<(IpAddr, bool)> {
    let bytes = text.as_bytes();
    if let Some(v4) = parse_dotted_quad(bytes) {
        return Some((IpAddr::V4(v4), true));
    }
    let address = IpAddr::V6(parse_v6(bytes)?);
    let canonical = IpText::of(&address).as_bytes() == bytes;
    Some((address, canonical))
}

/// IPv6 text as `Ipv6Addr::from_str` reads it: eight groups of one to four
/// hex digits, or fewer around one `::` that stands for at least one zero
/// group; the last two groups may be written as a dotted quad, except
/// before the `::`.
fn parse_v6(text: &[u8]) -> Option<Ipv6Addr> {
    let gap = text.windows(2).position(|pair| pair == b"::");
    let mut groups = [0u16; 8];
    let Some(gap) = gap else {
        return (read_groups(text, &mut groups, true)? == 8).then_some(Ipv6Addr::from(groups));
    };
    let (head, tail) = (&text[..gap], &text[gap + 2..]);
    let mut tail_groups = [0u16; 8];
    let head_len = if head.is_empty() {
        0
    } else {
        read_groups(head, &mut groups, false)?
    };
    let tail_len = if tail.is_empty() {
        0
    } else {
        read_groups(tail, &mut tail_groups, true)?
    };
    if head_len + tail_len > 7 {
        return None;
    }
    groups[8 - tail_len..].copy_from_slice(&tail_groups[..tail_len]);
    Some(Ipv6Addr::from(groups))
}

/// Groups separated by single colons into `groups`, the last of them a
/// dotted quad (two groups) if `quad_last`; how many, at most eight.
fn read_groups(text: &[u8], groups: &mut [u16; 8], quad_last: bool) -> Option<usize> {
    let mut count = 0;
    let mut parts = text.split(|&b| b == b':').peekable();
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        if last && quad_last && part.contains(&b'.') {
            let [a, b, c, d] = parse_dotted_quad(part)?.octets();
            *groups.get_mut(count + 1)? = u16::from_be_bytes([c, d]);
            groups[count] = u16::from_be_bytes([a, b]);
            return Some(count + 2);
        }
        if part.is_empty() || part.len() > 4 {
            return None;
        }
        let mut group = 0u16;
        for &digit in part {
            group = group << 4 | u16::from(char::from(digit).to_digit(16)? as u8);
        }
        *groups.get_mut(count)? = group;
        count += 1;
    }
    Some(count)
}

/// Four octets of one to three decimal digits, separated by dots, without
/// leading zeros and none above 255: exactly the IPv4 text
/// `Ipv4Addr::from_str` reads.
fn parse_dotted_quad(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let digits = parts.next()?;
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if digits.is_empty() || digits.len() > 3 || leading_zero {
            return None;
        }
        let mut value = 0u16;
        for &digit in digits {
            if !digit.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(digit - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
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

    #[test]
    fn every_octet_and_every_group_is_written_as_display_writes_it() {
        for octet in 0..=255u8 {
            let address = IpAddr::V4(Ipv4Addr::new(1, octet, 255, octet));
            assert_eq!(IpText::of(&address).as_str(), address.to_string());
        }
        for group in 0..=u16::MAX {
            let address = IpAddr::V6(Ipv6Addr::new(1, group, 1, 1, 1, 1, 1, group));
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

        /// Text of digits, dots and colons, loose or shaped like addresses:
        /// read as the standard parser reads it, and canonical exactly when
        /// `IpText` writes it back.
        #[test]
        fn reads_as_the_standard_parser(
            text in "[0-9.:a-fA-F]{0,24}|([0-9]{1,4}\\.){3}[0-9]{1,4}|(:?[0-9a-fA-F]{0,5}:){0,9}(:|[0-9a-f]{1,4}|([0-9]{1,3}\\.){3}[0-9]{1,3})?"
        ) {
            let standard: Option<IpAddr> = text.parse().ok();
            let read = parse_canonical(&text);
            prop_assert_eq!(read.map(|(a, _)| a), standard);
            if let Some((address, canonical)) = read {
                prop_assert_eq!(canonical, address.to_string() == text);
            }
        }

        #[test]
        fn any_v4_is_written_as_display_writes_it(octets in any::<[u8; 4]>()) {
            let address = IpAddr::V4(Ipv4Addr::from(octets));
            prop_assert_eq!(IpText::of(&address).to_string(), address.to_string());
        }
    }
}
