//! Work shared between two cores: the machines dm-dns runs on have at least
//! two, and passes over a large zone's records (reading every name) are most
//! of its cost. `halves` keeps small inputs on one thread.

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

/// `halves`, for work that changes the items.
pub fn halves_mut<T: Send, R: Send>(
    items: &mut [T],
    work: impl Fn(&mut [T]) -> R + Sync,
) -> (R, R) {
    let many = items.len() >= FROM;
    let (front, back) = items.split_at_mut(items.len() / 2);
    if !many {
        return (work(front), work(back));
    }
    join(|| work(front), || work(back))
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
            let (a, b) = halves_mut(&mut changed, |half| {
                half.iter_mut().for_each(|i| *i += 1);
                half.len()
            });
            assert_eq!(a + b, len);
            assert!(changed.iter().zip(&items).all(|(c, i)| *c == i + 1));
        }
    }
}
