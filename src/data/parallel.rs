//! Work over a list on a few threads: items handed out one at a time (so slow ones do not hold
//! up a whole share), results kept in order, and the first error stops the rest. On rayon, with
//! a pool per call so that `--threads` means what it says.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

/// Applies `work` to every item on a rayon pool of `threads` threads, each with its own state
/// from `init` (made once per thread, not per item); `progress(done, total)` is called after
/// every item. Items are handed out one at a time, so a slow one does not hold up a share.
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
    S: Send,
{
    let threads = threads.clamp(1, items.len().max(1));
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let states: Vec<Mutex<Option<S>>> = (0..threads).map(|_| Mutex::new(None)).collect();
    let run = || -> Vec<Option<Result<R, E>>> {
        items
            .par_iter()
            .with_max_len(1)
            .map(|item| {
                if failed.load(Ordering::Relaxed) {
                    return None;
                }
                // Each worker of the pool has its own slot. The state is taken out while it works,
                // so an item this thread steals meanwhile (nested rayon work) makes its own.
                let slot = &states[rayon::current_thread_index().unwrap_or(0) % states.len()];
                let taken = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                let mut state = taken.unwrap_or_else(&init);
                let result = work(&mut state, item);
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
                failed.fetch_or(result.is_err(), Ordering::Relaxed);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, items.len());
                Some(result)
            })
            .collect()
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("work-{i}")).build();
    // Without a pool of its own (the system refused threads) the work runs on rayon's global one.
    let outcomes = match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    };
    let mut results = Vec::with_capacity(items.len());
    for outcome in outcomes.into_iter().flatten() {
        results.push(outcome?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_makes_its_state_once() {
        let items: Vec<u32> = (0..200).collect();
        let made = AtomicUsize::new(0);
        let init = || made.fetch_add(1, Ordering::Relaxed);
        map_parallel(&items, 2, &|_, _| {}, init, |_, &x| Ok::<_, ()>(x)).unwrap();
        assert!((1..=2).contains(&made.load(Ordering::Relaxed)), "{} states", made.load(Ordering::Relaxed));
    }

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
