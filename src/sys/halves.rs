//! Work shared between two cores: the machines dm-dns runs on have at least
//! two, and passes over a large zone's records (reading every name) are most
//! of its cost. `halves` keeps small inputs on one thread.

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

/// `work(part, start)` on each of two consecutive parts of `items` of about
/// equal total `weight` (`start`: where the part begins in `items`), on two
/// cores when the weight is large: for items whose cost differs (scopes
/// with many hosts, or none).
pub fn halves_by_weight<'a, T: Sync, R: Send>(
    items: &'a [T],
    weight: impl Fn(&T) -> usize,
    work: impl Fn(&'a [T], usize) -> R + Sync,
) -> (R, R) {
    let total: usize = items.iter().map(&weight).sum();
    let mut before = 0;
    let split = items
        .iter()
        .position(|item| {
            let past_half = before >= total / 2;
            before += weight(item);
            past_half
        })
        .unwrap_or(items.len());
    let (front, back) = items.split_at(split);
    if total < FROM {
        return (work(front, 0), work(back, split));
    }
    join(|| work(front, 0), || work(back, split))
}

/// `work(i)` for every `i` in `0..count`, on two cores that each take the
/// next piece not yet taken, so that neither waits long for the other when
/// pieces cost different amounts (a clan's network scopes cost more per
/// byte than its service scopes, and sort before them). Results in order.
fn pieces<R: Send>(count: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
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
    fn weighted_halves_hold_every_item_once_and_about_half_the_weight() {
        // Many weightless items, then heavy ones: halving by count would
        // give the second part all the weight.
        let items: Vec<usize> = std::iter::repeat_n(0, 5000)
            .chain(std::iter::repeat_n(10, 5000))
            .collect();
        let ((front, front_start), (back, back_start)) =
            halves_by_weight(&items, |&w| w, |part, start| (part.to_vec(), start));
        assert_eq!((front_start, back_start), (0, front.len()));
        assert_eq!([front.clone(), back.clone()].concat(), items);
        let front_weight: usize = front.iter().sum();
        assert_eq!(front_weight, 25_000);
        for items in [vec![], vec![7], vec![0, 0, 0]] {
            let (front, back) = halves_by_weight(&items, |&w| w, |part, _| part.to_vec());
            assert_eq!([front, back].concat(), items);
        }
    }
}
