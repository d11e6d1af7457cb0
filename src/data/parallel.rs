//! Work over a list on a few threads: items handed out one at a time (so slow ones do not hold
//! up a whole share), results kept in order, and the first error stops the rest.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Applies `work` to every item on `threads` threads, each with its own state from `init`;
/// `progress(done, total)` is called after every item.
pub fn map_parallel<T, R, E, S>(
    items: &[T],
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let first_error: Mutex<Option<E>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                let mut state = init();
                while !failed.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    match work(&mut state, item) {
                        Ok(result) => results.lock().expect("no panics while holding")[index] = Some(result),
                        Err(error) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error.lock().expect("no panics while holding").get_or_insert(error);
                        }
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, items.len());
                }
            });
        }
    });
    if let Some(error) = first_error.into_inner().expect("workers finished") {
        return Err(error);
    }
    Ok(results.into_inner().expect("workers finished").into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_and_errors_stop_the_work() {
        let items: Vec<u32> = (0..100).collect();
        let squares = map_parallel(&items, 3, &|_, _| {}, || (), |_, &x| Ok::<_, String>(x * x)).unwrap();
        assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        let failed = map_parallel(&items, 2, &|_, _| {}, || (), |_, &x| if x == 7 { Err(x) } else { Ok(x) });
        assert_eq!(failed, Err(7));
        let empty: Vec<u32> = map_parallel(&[], 4, &|_, _| {}, || (), |_, &x: &u32| Ok::<_, ()>(x)).unwrap();
        assert!(empty.is_empty());
    }
}
