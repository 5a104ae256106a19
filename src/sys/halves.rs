//! Work shared between two cores: the machines dm-dns runs on have at least
//! two, and passes over a large zone's records (reading every name) are most
//! of its cost. `halves` keeps small inputs on one thread.

use std::mem::MaybeUninit;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// From this many items on, the halves run on two cores.
const FROM: usize = 1 << 12;

/// `here` on this thread while `there` runs on another; both results. A
/// panic on the other thread goes on here.
pub fn join<A, B: Send>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|s| {
        let there = s.spawn(there);
        let here = here();
        let there = there
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (here, there)
    })
}

/// `work` on each half of `items` (the first half first), on two cores when
/// there are many.
pub fn halves<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> (R, R) {
    let (front, back) = items.split_at(items.len() / 2);
    if items.len() < FROM {
        return (work(front), work(back));
    }
    join(|| work(front), || work(back))
}

/// `bytes` as text if they are UTF-8, checked in two halves on two cores
/// when there are many (tens of megabytes of exports, checked before they
/// are read in pieces).
pub fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.len() < FROM {
        return std::str::from_utf8(bytes).ok();
    }
    // Split before a byte that does not continue a character: in UTF-8 such
    // a byte starts one, so both sides are text exactly when the whole is.
    let middle = (bytes.len() / 2..bytes.len())
        .find(|&i| bytes[i] & 0xC0 != 0x80)
        .unwrap_or(bytes.len());
    let (front, back) = bytes.split_at(middle);
    let (front_ok, back_ok) = join(
        || std::str::from_utf8(front).is_ok(),
        || std::str::from_utf8(back).is_ok(),
    );
    // SAFETY: both sides are UTF-8 and they meet between two characters
    // (above), so the whole is UTF-8.
    (front_ok && back_ok).then(|| unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Room for items in a list that two cores fill at once, each its own part
/// (`fill_by_weight`).
pub struct Slots<'a, T> {
    room: &'a mut [MaybeUninit<T>],
    filled: usize,
}

impl<T> Slots<'_, T> {
    /// Adds `item` after those before. More items than the room is the
    /// caller's error: a panic, and the list is never made.
    pub fn push(&mut self, item: T) {
        self.room[self.filled].write(item);
        self.filled += 1;
    }
}

/// Parts `fill_by_weight` cuts a large list into: enough that the core
/// that finishes first takes more of them while the other is busy with
/// other work (the zone's compile runs beside it).
const FILL_PARTS: usize = 16;

/// One list of what `fill(part, start, slots)` pushes for each of
/// consecutive parts of `items` (`start`: where the part begins in
/// `items`): parts of about equal total `weight`, each with room for at
/// most its weight in items, taken in turn by two cores when the parts are
/// large. Each part fills its own stretch of the list in place, so no part
/// is copied after, as a large zone's million entries would be (tens of
/// megabytes of fresh memory); only what a part left unfilled is closed up.
/// The results of the parts, in order.
pub fn fill_by_weight<'a, T: Sync, E: Send, R: Send>(
    items: &'a [T],
    weight: impl Fn(&T) -> usize,
    fill: impl Fn(&'a [T], usize, &mut Slots<'_, E>) -> R + Sync,
) -> (Vec<E>, Vec<R>) {
    let total: usize = items.iter().map(&weight).sum();
    let parts = if total < FROM { 1 } else { FILL_PARTS };
    // Each part: its first item, and the weight before it.
    let mut starts = vec![(0, 0)];
    let mut so_far = 0;
    for (i, item) in items.iter().enumerate() {
        if so_far >= total * starts.len() / parts && so_far > starts.last().map_or(0, |s| s.1) {
            starts.push((i, so_far));
        }
        so_far += weight(item);
    }
    starts.push((items.len(), total));
    let mut list = Vec::with_capacity(total);
    let mut room = &mut list.spare_capacity_mut()[..total];
    let mut parts = Vec::new();
    for bounds in starts.windows(2) {
        let ((first, before), (end, after)) = (bounds[0], bounds[1]);
        let (this, rest) = std::mem::take(&mut room).split_at_mut(after - before);
        room = rest;
        let slots = Slots {
            room: this,
            filled: 0,
        };
        parts.push(Mutex::new((&items[first..end], first, slots)));
    }
    // Each part's result, and how many slots it filled.
    let (results, filled): (Vec<R>, Vec<usize>) = pieces(parts.len(), |i| {
        let mut part = parts[i].lock().unwrap_or_else(|p| p.into_inner());
        let (part_items, first, slots) = &mut *part;
        (fill(part_items, *first, slots), slots.filled)
    })
    .into_iter()
    .unzip();
    let mut len = 0;
    for (bounds, filled) in starts.windows(2).zip(filled) {
        let room_start = bounds[0].1;
        // SAFETY: this part's first `filled` slots, from `room_start` on,
        // were written (each `push` writes the next slot of its part), all
        // within the capacity. They move down to follow the parts before
        // (`copy` allows the overlap; `len <= room_start`), so the first
        // `len + filled` slots are written, and the list owns them.
        unsafe {
            let start = list.as_mut_ptr();
            if room_start != len {
                std::ptr::copy(start.add(room_start), start.add(len), filled);
            }
        }
        len += filled;
    }
    // SAFETY: the first `len` slots are written (above).
    unsafe { list.set_len(len) };
    (list, results)
}

/// `work(i)` for every `i` in `0..count`, on two cores that each take the
/// next piece not yet taken, so that neither waits long for the other when
/// pieces cost different amounts (a clan's network scopes cost more per
/// byte than its service scopes, and sort before them). Results in order.
/// A single piece is worked on this thread.
fn pieces<R: Send>(count: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if count < 2 {
        return (0..count).map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return done;
            }
            done.push((i, work(i)));
        }
    };
    let (mut done, more) = join(take, take);
    done.extend(more);
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}

/// `pieces` over `count` consecutive parts of `items` of about equal length,
/// for work that changes them; on one thread when there are few items.
pub fn pieces_mut<T: Send, R: Send>(
    items: &mut [T],
    count: usize,
    work: impl Fn(&mut [T]) -> R + Sync,
) -> Vec<R> {
    if items.len() < FROM {
        return vec![work(items)];
    }
    let length = items.len().div_ceil(count.max(1));
    let parts: Vec<Mutex<&mut [T]>> = items.chunks_mut(length).map(Mutex::new).collect();
    pieces(parts.len(), |i| {
        let mut part = parts[i]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut part)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_checked_as_a_whole_wherever_the_halves_meet() {
        // Characters of one to four bytes, so that the middle falls inside
        // each kind; then one bad byte put in each half and at the middle.
        for unit in ["a", "é", "€", "🦀"] {
            for extra in 0..4 {
                let text = unit.repeat(FROM) + &"b".repeat(extra);
                assert_eq!(utf8(text.as_bytes()), Some(text.as_str()));
                let bytes = text.as_bytes();
                for at in [0, bytes.len() / 2, bytes.len() / 2 + 1, bytes.len() - 1] {
                    for bad in [0xFF, 0x80, 0xC3] {
                        let mut broken = bytes.to_vec();
                        broken[at] = bad;
                        let whole = std::str::from_utf8(&broken).ok();
                        assert_eq!(utf8(&broken), whole, "{unit:?} +{extra}: {bad:#x} at {at}");
                    }
                }
            }
        }
        assert_eq!(utf8(&[0x80; 2 * FROM]), None);
    }

    #[test]
    fn every_item_once_in_order_at_any_size() {
        for len in [0, 1, 2, FROM - 1, FROM, 3 * FROM + 1] {
            let items: Vec<usize> = (0..len).collect();
            let (front, back) = halves(&items, <[usize]>::to_vec);
            assert_eq!([front, back].concat(), items);
            let mut changed = items.clone();
            let lengths = pieces_mut(&mut changed, 8, |part| {
                part.iter_mut().for_each(|i| *i += 1);
                part.len()
            });
            assert_eq!(lengths.iter().sum::<usize>(), len);
            assert!(changed.iter().zip(&items).all(|(c, i)| *c == i + 1));
        }
        let squares = pieces(100, |i| i * i);
        assert_eq!(squares, (0..100).map(|i| i * i).collect::<Vec<_>>());
    }

    #[test]
    fn filled_parts_hold_every_item_once_in_order_and_about_equal_weight() {
        // Many weightless items, then heavy ones: cutting by count would
        // give the last parts all the weight.
        let items: Vec<usize> = std::iter::repeat_n(0, 5000)
            .chain(std::iter::repeat_n(10, 5000))
            .collect();
        // Each item pushes as many copies of its index as it weighs, or one
        // fewer for odd indices, so some room is left over in every part.
        let fill = |part: &[usize], start: usize, slots: &mut Slots<'_, usize>| {
            for (i, &weight) in part.iter().enumerate() {
                let copies = weight.saturating_sub((start + i) % 2);
                (0..copies).for_each(|_| slots.push(start + i));
            }
            (start, part.len(), part.iter().sum::<usize>())
        };
        let (list, parts) = fill_by_weight(&items, |&w| w, fill);
        assert_eq!(parts.len(), FILL_PARTS);
        let share = 50_000 / FILL_PARTS;
        let mut next = 0;
        for &(start, len, weight) in &parts {
            assert_eq!(start, next, "{parts:?}");
            assert!(weight.abs_diff(share) <= 10, "{parts:?}");
            next += len;
        }
        assert_eq!(next, items.len());
        let expected: Vec<usize> = (0..items.len())
            .flat_map(|i| std::iter::repeat_n(i, items[i].saturating_sub(i % 2)))
            .collect();
        assert_eq!(list, expected);
        for items in [vec![], vec![7], vec![0, 0, 0], vec![3, 0, 1]] {
            let (list, _) = fill_by_weight(
                &items,
                |&w| w,
                |part, start, slots| {
                    for (i, &weight) in part.iter().enumerate() {
                        (0..weight).for_each(|_| slots.push(start + i));
                    }
                },
            );
            assert_eq!(list.len(), items.iter().sum::<usize>());
            assert!(list.is_sorted());
        }
    }

    #[test]
    #[should_panic]
    fn more_items_than_room_is_a_panic() {
        let items = vec![1usize; FROM];
        fill_by_weight(
            &items,
            |&w| w,
            |part, _, slots| {
                (0..=part.len()).for_each(|i| slots.push(i));
            },
        );
    }
}
