//! Where the network runs: rayon's workers for the fused kernels, Candle's helper threads, the
//! allocator's thresholds, and the device a run asks for.

use crate::learn::error::LearnError;

/// Runs `f` on one of rayon's worker threads. The fused kernels split their loops with rayon;
/// called from a worker, the caller starts on its own share at once and the other workers steal
/// the rest, while from any other thread each loop is handed over to the pool and the caller
/// sleeps until it is done. A multi-task step took 15% less time on a worker (`benches/learn.rs`
/// runs its steps this way too). `f` must not wait for other rayon work: with one thread it
/// would wait for itself.
pub fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// Candle's helper threads for elementwise ops spin 25,000 times after each op before they sleep.
/// On two cores that spinning takes a core from the rayon workers that run the next product: a
/// multi-task step took about 17% longer with it (`CANDLE_BARRIER_POOL_SPIN_LIMIT` 25,000 against
/// 0, medians of four runs). This makes them sleep at once unless the variable is set already.
///
/// # Safety
/// It sets an environment variable, so no other thread may exist yet: call it first in `main`.
pub unsafe fn park_candle_helpers() {
    const SPIN_LIMIT: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(SPIN_LIMIT).is_none() {
        // SAFETY: the caller guarantees that no other thread reads the environment meanwhile.
        unsafe { std::env::set_var(SPIN_LIMIT, "0") };
    }
}

/// Keeps freed memory in the process. A training step allocates and frees the same multi-megabyte
/// tensors every time; by default glibc hands them back to the kernel, and the page faults that
/// follow cost about an eighth of a step here (`benches/learn.rs`: 343 against 298 ms). The
/// price: up to 1 GiB freed at the top of the heap stays with the process. So `timbrescope
/// train` calls it, and the window does not: training there leaves the window's allocator as it is.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// `cpu` or `cuda:N`.
pub fn parse_device(name: &str) -> Result<candle_core::Device, LearnError> {
    if name == "cpu" {
        return Ok(candle_core::Device::Cpu);
    }
    let ordinal = name
        .strip_prefix("cuda:")
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| LearnError::Device(name.into()))?;
    candle_core::Device::new_cuda(ordinal).map_err(|e| LearnError::Device(format!("{name}: {e}")))
}
