//! Sorting a zone's (host, scope) entries, the largest single cost of a
//! large zone.
//!
//! A plain comparison sort of a million names compares each pair through
//! pointers into the input, a cache miss per comparison, and names that share
//! long prefixes (`service3-machine-...`) compare byte by byte. Here entries
//! carry eight bytes of their host inline: they are sorted by those, then
//! every group that agrees on them by the next eight, and so on (an MSD radix
//! sort with eight-byte digits). Each name is read once per level, in order.

use std::marker::PhantomData;

use crate::sys::halves;

/// One host exported by one scope (an index into the sorted scopes). 24
/// bytes, not the 32 a `&str` field would make it: a large zone has a
/// million, sorted in place, and each is moved several times.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'e> {
    /// Where `host` starts; its length is `host_len`.
    host_start: *const u8,
    /// Eight bytes of `host` at the depth being sorted, big-endian and
    /// zero-padded: ordering these orders the bytes.
    chunk: u64,
    pub scope: u32,
    /// Hosts are checked names (`exports::canonical`), at most 253 bytes.
    host_len: u16,
    /// Once sorted: whether this entry's host differs from the one before,
    /// which the sort learns without another look at the names.
    pub new_host: bool,
    host: PhantomData<&'e str>,
}

// SAFETY: an entry holds a `&'e str` in two parts, and `&str` is both.
unsafe impl Send for Entry<'_> {}
// SAFETY: as above.
unsafe impl Sync for Entry<'_> {}

impl<'e> Entry<'e> {
    /// `host` must be an LDH name (it has no NUL byte): an end of name then
    /// always sorts before any byte, and at most 253 bytes long.
    pub fn new(host: &'e str, scope: u32) -> Entry<'e> {
        debug_assert!(!host.contains('\0'));
        Entry {
            host_start: host.as_ptr(),
            chunk: chunk_at(host, 0),
            scope,
            host_len: u16::try_from(host.len()).expect("a checked host name"),
            new_host: true,
            host: PhantomData,
        }
    }

    pub fn host(&self) -> &'e str {
        // SAFETY: `host_start` and `host_len` are those of a `&'e str`
        // (`new`), and an entry lives no longer than `'e`.
        unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                self.host_start,
                usize::from(self.host_len),
            ))
        }
    }

    fn key(&self) -> (&'e str, u32) {
        (self.host(), self.scope)
    }
}

const CHUNK: usize = 8;
/// Groups this small are sorted by plain comparison.
const SMALL: usize = 12;
/// From this many entries on, two cores share the work.
const PARALLEL_FROM: usize = 1 << 16;

fn chunk_at(host: &str, depth: usize) -> u64 {
    let bytes = host.as_bytes();
    if let Some(word) = bytes.get(depth..depth + CHUNK) {
        // The common case, one load (the copy below is a call to memcpy).
        return u64::from_be_bytes(word.try_into().expect("eight bytes"));
    }
    let mut word = [0u8; CHUNK];
    if let Some(rest) = bytes.get(depth..) {
        let part = &rest[..rest.len().min(CHUNK)];
        word[..part.len()].copy_from_slice(part);
    }
    u64::from_be_bytes(word)
}

/// Sorts by host, then scope: the order of `(host, scope)` pairs, which
/// are unique in a zone (each scope's hosts are deduplicated).
pub fn sort(entries: &mut [Entry<'_>]) {
    if entries.len() < PARALLEL_FROM {
        entries.sort_unstable_by_key(|e| e.chunk);
        sort_groups(entries, 0);
        return;
    }
    // The first level on two cores, in place: partitioned around the
    // median chunk, each side sorted on its own core. Entries with the
    // median chunk end the left side and begin the right, one group.
    let mid = entries.len() / 2;
    entries.select_nth_unstable_by_key(mid, |e| e.chunk);
    let (left, right) = entries.split_at_mut(mid);
    halves::join(
        || right.sort_unstable_by_key(|e| e.chunk),
        || left.sort_unstable_by_key(|e| e.chunk),
    );
    // Then the groups, split between two cores where a group ends.
    let mut split = entries.len() / 2;
    while split < entries.len() && entries[split].chunk == entries[split - 1].chunk {
        split += 1;
    }
    let (left, right) = entries.split_at_mut(split);
    halves::join(|| sort_groups(right, 0), || sort_groups(left, 0));
}

/// `entries` are sorted by their chunk at `depth`, and agree on every byte
/// before it: sorts each run of equal chunks by what follows.
fn sort_groups(entries: &mut [Entry<'_>], depth: usize) {
    let mut start = 0;
    while start < entries.len() {
        let chunk = entries[start].chunk;
        let len = entries[start..]
            .iter()
            .position(|e| e.chunk != chunk)
            .unwrap_or(entries.len() - start);
        sort_group(&mut entries[start..start + len], depth);
        start += len;
    }
}

/// Entries that agree on their first `depth + CHUNK` bytes.
fn sort_group(group: &mut [Entry<'_>], depth: usize) {
    if group.len() < 2 {
        group.iter_mut().for_each(|e| e.new_host = true);
        return;
    }
    if group[0].host().len() < depth + CHUNK {
        // This host ends inside the chunk, so every host with the same
        // chunk ends there too (names have no NUL): all are the same name.
        group.sort_unstable_by_key(|e| e.scope);
        for (i, entry) in group.iter_mut().enumerate() {
            entry.new_host = i == 0;
        }
        return;
    }
    if group.len() <= SMALL {
        group.sort_unstable_by(|a, b| a.key().cmp(&b.key()));
        for i in 0..group.len() {
            group[i].new_host = i == 0 || group[i].host() != group[i - 1].host();
        }
        return;
    }
    let next = depth + CHUNK;
    let first = chunk_at(group[0].host(), next);
    let mut all_equal = true;
    for entry in group.iter_mut() {
        entry.chunk = chunk_at(entry.host(), next);
        all_equal &= entry.chunk == first;
    }
    if all_equal {
        // Names that share the next eight bytes too (`-machine`): nothing
        // to order there, one group again.
        return sort_group(group, next);
    }
    group.sort_unstable_by_key(|e| e.chunk);
    sort_groups(group, next);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `hosts` sorted here and by comparing pairs; they must agree.
    fn assert_sorts_like_pairs(hosts: &[(String, u32)]) {
        let mut entries: Vec<Entry> = hosts.iter().map(|(h, s)| Entry::new(h, *s)).collect();
        sort(&mut entries);
        let sorted: Vec<(&str, u32)> = entries.iter().map(Entry::key).collect();
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(
                entry.new_host,
                i == 0 || entry.host() != entries[i - 1].host(),
                "{i}"
            );
        }
        let mut expected: Vec<(&str, u32)> = hosts.iter().map(|(h, s)| (h.as_str(), *s)).collect();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
    }

    #[test]
    fn an_entry_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Shared prefixes of every length, names that end at a chunk edge,
        /// one name from several scopes.
        #[test]
        fn sorts_like_comparing_pairs(
            hosts in proptest::collection::btree_set(
                ("(abcdefgh){0,3}[a-c.-]{0,10}", 0u32..4), 0..300)
        ) {
            let hosts: Vec<(String, u32)> = hosts.into_iter().collect();
            assert_sorts_like_pairs(&hosts);
        }
    }

    #[test]
    fn sorts_large_inputs_on_two_cores() {
        let hosts: Vec<(String, u32)> = (0..PARALLEL_FROM as u32 * 2 + 7)
            .map(|i| {
                (
                    format!("service{}-machine-{:06}.clan", i % 10, (i * 7919) % 20_011),
                    i % 3,
                )
            })
            .collect();
        assert_sorts_like_pairs(&hosts);
    }
}
