//! A quick reader for the usual shapes of exports: scope values that are
//! `null` or objects with raw `endpoints.hosts`, `peer.hosts` (plain values)
//! and `networking.priority`, or the projection's `hosts`, `peers` (plain
//! values) and `priority`; strings without escapes. It gives up (`None`) at
//! anything else (a var or a missing peer value, an escape, a duplicate
//! field, deep nesting, a number it does not take, any syntax error) and
//! the general reader then reads the document, so every error message is
//! the general reader's. What it does read, it reads exactly as the general
//! reader would (the proptest below holds it to that), in about two thirds
//! of the time.

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{ENTRIES_TO_TRY, Peer, RawPeerHost, SPLIT_TRIES, ScopeHosts, ScopeParts, split_comma};
use crate::sys::halves;

/// From this size on, a document is read in pieces, on two cores.
const PIECES_FROM: usize = 1 << 20;
/// How many pieces a large document is read in. The two cores take them
/// from either end until they meet, so they finish together although
/// entries differ in cost per byte (a network's peer scopes, which sort
/// first in a clan's exports, take longer than its services' scopes).
const PIECES: usize = 32;
/// Skipped values nested deeper than this are left to the general reader,
/// which counts every level of the document against its limit of 128.
const SKIP_DEPTH: usize = 64;

/// The scopes of `bytes`, and what `finish` made of each piece of them, in
/// order; `None` where this reader gives up. Each piece is finished by the
/// core that read it, while its scopes are in that core's cache.
pub fn read<'a, R: Send>(
    bytes: &'a [u8],
    finish: &(impl Fn(&mut [ScopeHosts<'a>]) -> R + Sync),
) -> Option<(Vec<ScopeHosts<'a>>, Vec<R>)> {
    // Checked once as a whole, so that each string is a slice of it.
    let text = halves::utf8(bytes)?;
    read_pieces(text, &piece_ends(text), finish)
}

/// `read` with the pieces ending at the commas `ends`, in order: the
/// pieces are read only if each ends there, after an entry.
fn read_pieces<'a, R: Send>(
    text: &'a str,
    ends: &[usize],
    finish: &(impl Fn(&mut [ScopeHosts<'a>]) -> R + Sync),
) -> Option<(Vec<ScopeHosts<'a>>, Vec<R>)> {
    let stop = AtomicBool::new(false);
    // Piece `i`, added to `scopes` and finished.
    let read_piece = |i: usize, scopes: &mut Vec<ScopeHosts<'a>>| {
        let start = if i == 0 { 0 } else { ends[i - 1] + 1 };
        let before = scopes.len();
        let read = Scanner::new(text, start).piece(i == 0, ends.get(i).copied(), &stop, scopes);
        // Once any piece gives up, all do: the general reader reads it all.
        stop.fetch_or(read.is_none(), Ordering::Relaxed);
        read.map(|()| finish(&mut scopes[before..]))
    };
    if ends.is_empty() {
        let mut scopes = Vec::new();
        let finished = read_piece(0, &mut scopes)?;
        return Some((scopes, vec![finished]));
    }
    let untaken = Mutex::new(0..=ends.len());
    let take = |from_front: bool| {
        let mut untaken = untaken.lock().unwrap_or_else(|p| p.into_inner());
        if from_front {
            untaken.next()
        } else {
            untaken.next_back()
        }
    };
    // The front pieces are read into one list, which the back ones join.
    let front = || {
        let (mut scopes, mut finished) = (Vec::new(), Vec::new());
        while let Some(i) = take(true) {
            finished.push(read_piece(i, &mut scopes)?);
        }
        Some((scopes, finished))
    };
    let back = || {
        let mut pieces = Vec::new();
        while let Some(i) = take(false) {
            let mut scopes = Vec::new();
            let finished = read_piece(i, &mut scopes)?;
            pieces.push((scopes, finished));
        }
        Some(pieces)
    };
    let (front, back) = halves::join(front, back);
    let ((mut scopes, mut finished), back) = (front?, back?);
    scopes.reserve(back.iter().map(|(piece, _)| piece.len()).sum());
    for (mut piece, done) in back.into_iter().rev() {
        scopes.append(&mut piece);
        finished.push(done);
    }
    Some((scopes, finished))
}

/// Commas that end the pieces of a large document: each after about its
/// share of the bytes, with entries following it (`split_comma`); in
/// order, none twice. Only the reading of the piece before proves that a
/// comma is between top-level entries.
fn piece_ends(text: &str) -> Vec<usize> {
    if text.len() < PIECES_FROM {
        return Vec::new();
    }
    let mut ends: Vec<usize> = Vec::with_capacity(PIECES - 1);
    // Shared by all the pieces, so a document made to look like entries
    // after every comma costs no more to split than to halve.
    let mut tries = SPLIT_TRIES;
    for k in 1..PIECES {
        let from = text.len() / PIECES * k;
        if ends.last().is_some_and(|&last| last >= from) {
            continue;
        }
        let found = split_comma(text.as_bytes(), from, &mut tries, |comma, mut end| {
            while !text.is_char_boundary(end) {
                end += 1;
            }
            Scanner::new(&text[..end], comma + 1).entries_follow()
        });
        ends.extend(found);
    }
    ends
}

/// The fields of a scope's value that are read; any other is passed over.
#[derive(Clone, Copy)]
enum Field {
    Hosts,
    Endpoints,
    Peers,
    Peer,
    Priority,
    Networking,
}

impl Field {
    fn of(name: &str) -> Option<Field> {
        Some(match name {
            "hosts" => Field::Hosts,
            "endpoints" => Field::Endpoints,
            "peers" => Field::Peers,
            "peer" => Field::Peer,
            "priority" => Field::Priority,
            "networking" => Field::Networking,
            _ => return None,
        })
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// The list being read, reused: each scope's lists are then allocated
    /// once, at their size (a large clan has a million hosts).
    strings: Vec<Cow<'a, str>>,
    peers: Vec<Peer<'a>>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, at: usize) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            at,
            strings: Vec::new(),
            peers: Vec::new(),
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not taken.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    /// Takes `byte` if it comes next.
    fn take(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.take(byte).then_some(())
    }

    /// Takes `word` (a literal such as `null`) if it comes next.
    fn take_word(&mut self, word: &[u8]) -> bool {
        self.skip_whitespace();
        let next = self.bytes[self.at..].starts_with(word);
        if next {
            self.at += word.len();
        }
        next
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = start + special_at(&self.bytes[start..])?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are ASCII quotes, so this slice is on char boundaries.
        Some(&self.text[start..end])
    }

    /// The entries of one piece into `scopes`: from the document's opening
    /// brace (the `first` piece) or from just after a comma, up to the comma
    /// at `end` or, without one, to the document's end. `None` if the
    /// piece does not end there, or as soon as `stop` is set.
    fn piece(
        &mut self,
        first: bool,
        end: Option<usize>,
        stop: &AtomicBool,
        scopes: &mut Vec<ScopeHosts<'a>>,
    ) -> Option<()> {
        if first {
            self.expect(b'{')?;
            if end.is_none() && self.take(b'}') {
                return self.end().then_some(());
            }
        }
        loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            scopes.push(self.entry()?);
            self.skip_whitespace();
            if let Some(end) = end {
                // Past it, the comma was inside an entry.
                match self.at.cmp(&end) {
                    std::cmp::Ordering::Equal => return Some(()),
                    std::cmp::Ordering::Greater => return None,
                    std::cmp::Ordering::Less => {}
                }
            }
            if !self.take(b',') {
                // Only the last piece ends the document.
                return (end.is_none() && self.take(b'}') && self.end()).then_some(());
            }
        }
    }

    /// Whether `ENTRIES_TO_TRY` entries, or entries up to the end of the
    /// document, follow.
    fn entries_follow(&mut self) -> bool {
        for _ in 0..ENTRIES_TO_TRY {
            if self.entry().is_none() {
                return false;
            }
            if !self.take(b',') {
                return self.take(b'}') && self.end();
            }
        }
        true
    }

    fn end(&mut self) -> bool {
        self.skip_whitespace();
        self.at == self.bytes.len()
    }

    fn entry(&mut self) -> Option<ScopeHosts<'a>> {
        let key = Cow::Borrowed(self.string()?);
        self.expect(b':')?;
        if self.take_word(b"null") {
            return Some(ScopeHosts {
                key,
                ..ScopeHosts::default()
            });
        }
        let mut value = ScopeParts::default();
        let mut seen = [false; 6];
        self.fields(|scanner, name| {
            let Some(field) = Field::of(name) else {
                return scanner.skip(0);
            };
            // A field twice is an error to the general reader.
            if std::mem::replace(&mut seen[field as usize], true) {
                return None;
            }
            match field {
                Field::Hosts => value.hosts = scanner.strings()?,
                Field::Endpoints => scanner.object_field("hosts", |s| {
                    s.strings().map(|hosts| value.endpoint_hosts = hosts)
                })?,
                Field::Peers => {
                    let peers = scanner.strings()?;
                    value.peers = peers.into_iter().map(Peer::Value).collect();
                }
                Field::Peer => scanner.object_field("hosts", |s| {
                    s.raw_peer_hosts().map(|peers| value.raw_peers = peers)
                })?,
                Field::Priority => value.priority = scanner.priority()?,
                Field::Networking => scanner.object_field("priority", |s| {
                    s.priority().map(|p| value.networking_priority = p)
                })?,
            }
            Some(())
        })?;
        Some(value.into_scope(key))
    }

    /// `{ "field": value, ... }`, each value read by `read_value`.
    fn fields(
        &mut self,
        mut read_value: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.expect(b'{')?;
        if self.take(b'}') {
            return Some(());
        }
        loop {
            let field = self.string()?;
            self.expect(b':')?;
            read_value(self, field)?;
            if !self.take(b',') {
                return self.expect(b'}');
            }
        }
    }

    /// `null`, or an object whose `field` (once at most) is read by
    /// `read_value` and whose other fields are passed over: `endpoints`,
    /// `peer` and `networking`.
    fn object_field(
        &mut self,
        field: &str,
        mut read_value: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        if self.take_word(b"null") {
            return Some(());
        }
        let mut seen = false;
        self.fields(|scanner, name| {
            if name != field {
                return scanner.skip(0);
            }
            if std::mem::replace(&mut seen, true) {
                return None;
            }
            read_value(scanner)
        })
    }

    /// Raw `peer.hosts`: `null` or an array whose entries are strings,
    /// objects (whose last `plain` string counts) or `null`. A `var`, or an
    /// entry of another kind, is left to the general reader.
    fn raw_peer_hosts(&mut self) -> Option<Vec<Peer<'a>>> {
        if self.take_word(b"null") {
            return Some(Vec::new());
        }
        self.list(
            |scanner| &mut scanner.peers,
            |scanner| {
                let host = match scanner.peek()? {
                    b'"' => RawPeerHost::Plain(Cow::Borrowed(scanner.string()?)),
                    b'n' if scanner.take_word(b"null") => RawPeerHost::Other,
                    b'{' => {
                        let mut host = RawPeerHost::Other;
                        scanner.fields(|scanner, name| match name {
                            "plain" => {
                                host = RawPeerHost::Plain(Cow::Borrowed(scanner.string()?));
                                Some(())
                            }
                            "var" => None,
                            _ => scanner.skip(0),
                        })?;
                        host
                    }
                    _ => return None,
                };
                Some(host.into_peer())
            },
        )
    }

    /// `null` or an array of strings.
    fn strings(&mut self) -> Option<Vec<Cow<'a, str>>> {
        if self.take_word(b"null") {
            return Some(Vec::new());
        }
        self.list(
            |scanner| &mut scanner.strings,
            |scanner| scanner.string().map(Cow::Borrowed),
        )
    }

    /// `[ item, ... ]` as a list of its size, read into the reused list
    /// `scratch` gives (emptied again after).
    fn list<T>(
        &mut self,
        scratch: impl Fn(&mut Self) -> &mut Vec<T>,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut items = std::mem::take(scratch(self));
        let read = self.elements(|scanner| {
            items.push(item(scanner)?);
            Some(())
        });
        let mut list = Vec::with_capacity(items.len());
        list.append(&mut items);
        *scratch(self) = items;
        read.map(|()| list)
    }

    /// `[ value, ... ]`, each value read by `read_value`.
    fn elements(&mut self, mut read_value: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        if self.take(b']') {
            return Some(());
        }
        loop {
            read_value(self)?;
            if !self.take(b',') {
                return self.expect(b']');
            }
        }
    }

    /// `null` or an integer, in plain digits, that fits an i64.
    fn priority(&mut self) -> Option<Option<i64>> {
        if self.take_word(b"null") {
            return Some(None);
        }
        let number = self.number()?;
        let plain = !number.contains(['.', 'e', 'E']) && !number.starts_with("-0");
        plain.then(|| number.parse().ok()).flatten().map(Some)
    }

    /// A number in JSON's grammar, as written: an optional minus, an integer
    /// part without leading zeros, a fraction and an exponent.
    fn number(&mut self) -> Option<&'a str> {
        self.skip_whitespace();
        let start = self.at;
        let digits = |scanner: &mut Self| {
            let from = scanner.at;
            while scanner
                .bytes
                .get(scanner.at)
                .is_some_and(u8::is_ascii_digit)
            {
                scanner.at += 1;
            }
            scanner.at - from
        };
        self.at += usize::from(self.bytes.get(self.at) == Some(&b'-'));
        let integer_at = self.at;
        let integer = digits(self);
        if integer == 0 || (integer > 1 && self.bytes[integer_at] == b'0') {
            return None;
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        Some(&self.text[start..self.at])
    }

    /// Any JSON value, checked and passed over.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > SKIP_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.fields(|scanner, _| scanner.skip(depth + 1)),
            b'[' => self.elements(|scanner| scanner.skip(depth + 1)),
            b't' => self.take_word(b"true").then_some(()),
            b'f' => self.take_word(b"false").then_some(()),
            b'n' => self.take_word(b"null").then_some(()),
            _ => self.number().map(drop),
        }
    }
}

/// Where the first quote, backslash or control character in `bytes` is:
/// sixteen bytes at a time where the CPU can, as strings are most of a
/// document, and eight at a time where it cannot and for the last bytes.
fn special_at(bytes: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut offset = 0;
        while offset + 16 <= bytes.len() {
            // SAFETY: 16 bytes from `offset` are within `bytes`.
            let found = unsafe { specials16(bytes.as_ptr().add(offset)) };
            if found != 0 {
                return Some(offset + found.trailing_zeros() as usize);
            }
            offset += 16;
        }
        special_at_by_words(&bytes[offset..]).map(|at| offset + at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    special_at_by_words(bytes)
}

/// A bit for each of the 16 bytes at `at` that is a quote, a backslash or
/// a control character (SSE2, part of every x86-64 CPU).
///
/// # Safety
/// The 16 bytes must be readable.
#[cfg(target_arch = "x86_64")]
unsafe fn specials16(at: *const u8) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's; SSE2 is part of x86-64.
    unsafe {
        let v = _mm_loadu_si128(at.cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Below 0x20 (unsigned): the byte is its minimum with 0x1f.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// `special_at`, eight bytes at a time.
fn special_at_by_words(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // High bit set in each byte of `word` that is below `below` (exact up
    // to the first such byte, which is all that is used).
    let below = |word: u64, below: u8| word.wrapping_sub(ONES * u64::from(below)) & !word & HIGHS;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let rest = words.remainder();
    rest.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|at| offset + at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::json::parse_whole;
    use crate::exports::json::tests::document_of;

    /// Keys this reader takes (the first two), then keys with escapes.
    const KEYS: &[&str] = &[
        r#""a:b:c:alpha""#,
        r#""a:b:c:beta""#,
        r#""x,\"y\":{\"z\":1},\"w""#,
        r#""k:\u002c:q""#,
    ];
    /// Values this reader takes (the first `TAKEN`), then ones it must
    /// leave to the general reader, which reads some and refuses others.
    const VALUES: &[&str] = &[
        "null",
        "{}",
        r#"{"endpoints": {"hosts": ["a.clan", "b.clan"]}, "dataMesher": null}"#,
        r#"{"endpoints":null,"hosts":null}"#,
        r#"{"endpoints":{}}"#,
        r#"{"endpoints":{"x":[1,2.5,-0.1e3,1E+2,true,false,null,{"y":"z,}w"}],"hosts":null}}"#,
        r#"{"endpoints":{"hosts":["d.clan"]},"hosts":["c.clan","ü.clan"]}"#,
        r#"{"priority":-7,"hosts":[],"deep":[[[[{"a":[{}]}]]]]}"#,
        r#"{"priority":null,"extra":"plain"}"#,
        r#"{"hosts":["a.clan"],"peers":["1::2","10.0.0.1"],"priority":5}"#,
        r#"{"peers":null}"#,
        "{\"x\":\"\u{80}\u{7ff}\u{10ffff}\"}",
        r#"{"peer":{"hosts":[{"plain":"10.0.0.1"},"2::1",null,{"x":[1]},{"plain":"a","plain":"b"}],"port":22}}"#,
        r#"{"peer":{"hosts":null},"networking":{"priority":3,"x":{}},"peers":["1::2"]}"#,
        r#"{"priority":4,"networking":{"priority":3},"peer":null,"hosts":["z.clan"]}"#,
        r#"{"networking":null,"peer":{"port":1}}"#,
        // Left to the general reader from here on.
        r#"{"priority":null,"extra":"quoted \" and \\ and \u00fc"}"#,
        r#"{"peers":["1::2",{"missing":"why"}]}"#,
        r#"{"peer":{"hosts":[{"var":{"machine":"m","generator":"g","file":"f"}}]}}"#,
        r#"{"peer":{"hosts":[5,true,[]]}}"#,
        r#"{"peer":{"hosts":[{"plain":5}]}}"#,
        r#"{"peer":{"hosts":[],"hosts":[]}}"#,
        r#"{"peer":[]}"#,
        r#"{"networking":{"priority":3,"priority":4}}"#,
        r#"{"networking":{"priority":"3"}}"#,
        r#"{"peer":null,"peer":null}"#,
        r#"{"hosts":["a\u002eclan"]}"#,
        r#"{"priority":1.5}"#,
        r#"{"priority":1e2}"#,
        r#"{"priority":99999999999999999999}"#,
        r#"{"priority":-0}"#,
        r#"{"hosts":["a.clan"],"hosts":["b.clan"]}"#,
        r#"{"endpoints":{"hosts":["a.clan"],"hosts":[]}}"#,
        r#"{"hosts":[1]}"#,
        r#"[["a.clan"]]"#,
        r#""text""#,
        r#"{"x":01}"#,
        r#"{"x":1.}"#,
        r#"{"x":-}"#,
        r#"{"x":1e}"#,
        r#"{"x":.5}"#,
        r#"{"x":tru}"#,
        "{\"x\":\"\t\"}",
        r#"{"hosts":["a.clan",]}"#,
        r#"{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
    ];
    const TAKEN: usize = 16;

    fn document(entries: &[(usize, usize)], spaced: bool) -> String {
        document_of(KEYS, VALUES, entries, spaced)
    }

    /// The scopes `read` reads, finished with nothing.
    fn read_scopes(bytes: &[u8]) -> Option<Vec<ScopeHosts<'_>>> {
        read(bytes, &|_: &mut [ScopeHosts<'_>]| ()).map(|(scopes, _)| scopes)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever this reader reads, the general reader reads the same;
        /// documents of the shapes it takes it does read; and so do none of
        /// their cut-short beginnings.
        #[test]
        fn reads_as_the_general_reader_or_not_at_all(
            entries in proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..5),
            spaced: bool,
            cut in 0.0..1.0f64,
        ) {
            let doc = document(&entries, spaced);
            let general = parse_whole(doc.as_bytes());
            match read_scopes(doc.as_bytes()) {
                Some(scopes) => proptest::prop_assert_eq!(&scopes, general.as_ref().unwrap(), "{}", doc),
                None => proptest::prop_assert!(
                    entries.iter().any(|&(k, v)| k >= 2 || v >= TAKEN),
                    "gave up on {}", doc
                ),
            }
            let cut = (doc.len() as f64 * cut) as usize;
            if doc.is_char_boundary(cut) && cut < doc.trim_end().len() {
                proptest::prop_assert!(read_scopes(&doc.as_bytes()[..cut]).is_none(), "{}", &doc[..cut]);
            }
        }
    }

    /// Read in pieces that end at any commas, one or two: a document reads
    /// as it does whole, or not at all; and it reads exactly when every
    /// piece ends between two entries, so the pieces are not a path never
    /// taken. Each piece is finished once, in order.
    #[test]
    fn pieces_read_as_the_whole_or_not_at_all() {
        let entries = [(0, 2), (1, 12), (0, 13), (1, 5), (0, 1), (1, 14), (0, 0)];
        let doc = document(&entries, false);
        let whole = parse_whole(doc.as_bytes()).unwrap();
        // The commas between entries: after "{" and each entry and comma.
        let between: Vec<usize> = entries
            .iter()
            .scan(0, |at, &(k, v)| {
                *at += 1 + KEYS[k].len() + 1 + VALUES[v].len();
                Some(*at)
            })
            .take(entries.len() - 1)
            .collect();
        let commas: Vec<usize> = doc.match_indices(',').map(|(at, _)| at).collect();
        fn copy<'a>(piece: &mut [ScopeHosts<'a>]) -> Vec<ScopeHosts<'a>> {
            piece.to_vec()
        }
        let mut read_some = 0;
        for (i, &a) in commas.iter().enumerate() {
            let pairs = commas[i + 1..].iter().map(|&b| vec![a, b]);
            for ends in std::iter::once(vec![a]).chain(pairs) {
                let read = read_pieces(&doc, &ends, &copy);
                let expected = ends.iter().all(|end| between.contains(end));
                assert_eq!(
                    read.is_some(),
                    expected,
                    "pieces ending at {ends:?} of {doc}"
                );
                if let Some((scopes, finished)) = read {
                    read_some += 1;
                    assert_eq!(scopes, whole);
                    assert_eq!(finished.len(), ends.len() + 1);
                    assert_eq!(finished.concat(), whole);
                }
            }
        }
        assert_eq!(read_some, 6 + 15);
    }

    /// A large document is read in pieces; one whose middle holds a value
    /// whose commas look like ones between entries is not (the general
    /// reader then reads it), and nor is any of it cut short.
    #[test]
    fn large_documents_read_in_pieces_as_whole() {
        let entry = |i: usize| format!(r#""s:i:r:m{i}":{{"endpoints":{{"hosts":["h{i}.clan"]}}}}"#);
        let trap = format!(
            r#""trap":{{"x":{{{}}}}}"#,
            (0..40).map(entry).collect::<Vec<_>>().join(",")
        );
        for with_trap in [false, true] {
            let mut entries: Vec<String> = (0..40_000).map(entry).collect();
            if with_trap {
                // Where the middle was: the trap's own middle is now there.
                let half: usize = entries.iter().map(|e| e.len() + 1).sum::<usize>() / 2;
                let mut length = 0;
                let at = entries.iter().position(|e| {
                    length += e.len() + 1;
                    length > half
                });
                entries.insert(at.unwrap(), trap.clone());
            }
            let doc = format!("{{{}}}", entries.join(","));
            assert!(doc.len() >= PIECES_FROM);
            assert_eq!(piece_ends(&doc).len(), PIECES - 1);
            let counted = read(doc.as_bytes(), &|piece: &mut [ScopeHosts<'_>]| piece.len());
            match counted {
                Some((scopes, counts)) => {
                    assert!(!with_trap, "read across the trap");
                    assert_eq!(scopes, parse_whole(doc.as_bytes()).unwrap());
                    assert_eq!(counts.len(), PIECES);
                    assert_eq!(counts.iter().sum::<usize>(), scopes.len());
                }
                None => assert!(with_trap, "a document of the usual shape"),
            }
            assert!(read_scopes(&doc.as_bytes()[..doc.len() - 1]).is_none());
        }
    }

    /// Random edits of an example and of a document with every shape this
    /// reader takes, in JSON's alphabet: whatever it reads of them, the
    /// general reader reads the same. (Three million edits, with other
    /// seeds, agreed too; this many runs in a moment.)
    #[test]
    fn edited_documents_read_as_the_general_reader_or_not_at_all() {
        let seeds = [
            std::fs::read("examples/clan-exports.json").unwrap(),
            br#"{"a:b:c:m":{"endpoints":{"hosts":["x.clan","y.clan"]},"peer":{"hosts":[{"plain":"1::2"},"3::4",null],"port":1},"networking":{"priority":5},"hosts":["z"],"peers":["9::9"],"priority":-3,"o":[1,2.5e3,{"k":[true,false,null]}]},"n:n:n:n":null}"#.to_vec(),
        ];
        let alphabet = b"{}[]\",:0123456789-+.eE \t\nabnulltruefalse\\u\x00\x7f\xc3\xa9";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut random = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let mut read_some = 0;
        for round in 0..50_000 {
            let mut doc = seeds[round % seeds.len()].clone();
            for _ in 0..1 + random(4) {
                let at = random(doc.len());
                let byte = alphabet[random(alphabet.len())];
                match random(3) {
                    0 => drop(doc.remove(at)),
                    1 => doc.insert(at, byte),
                    _ => doc[at] = byte,
                }
            }
            if let Some(scopes) = read_scopes(&doc) {
                read_some += 1;
                let text = String::from_utf8_lossy(&doc);
                assert_eq!(scopes, parse_whole(&doc).expect(&text), "{text}");
            }
        }
        assert!(read_some > 1000, "only {read_some} edited documents read");
    }

    #[test]
    fn finds_the_first_quote_backslash_or_control_character() {
        // Past two blocks of 16 and into the eight-byte words after them.
        for len in 0..70 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes = vec![b'a'; len];
                    bytes.extend([0x7f, 0x80, 0xff, b' ']);
                    if at < len {
                        bytes[at] = special;
                    }
                    let expected = (at < len).then_some(at);
                    assert_eq!(special_at(&bytes), expected, "{len} {at} {special}");
                }
            }
        }
    }
}
