//! The short fuzz run of CI: every reader of a user's file gets a few seconds of mutants
//! (fuzz/harness.rs), and every input that ever made one fail (fuzz/regressions/TARGET/) is
//! read again. Long runs: `cargo run --example fuzz` (fuzz/README.md).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

use harness::{Budget, LimitedAllocator, TARGETS, Watchdog};

#[global_allocator]
static ALLOCATOR: LimitedAllocator = LimitedAllocator;

/// Seconds per target on each of two threads: about a minute for all of them.
const SECS_PER_TARGET: f64 = 5.0;

#[test]
fn every_reader_survives_a_short_fuzz_run_and_every_saved_failure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    harness::quiet_panics();

    // The regressions first: each was a panic, a hang or an exhausted memory once.
    let regressions = root.join("fuzz/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&regressions).unwrap() {
        let dir = entry.unwrap().path();
        let Some(target) = dir.file_name().and_then(|n| n.to_str()).and_then(harness::target) else { continue };
        for input in std::fs::read_dir(&dir).unwrap() {
            let path = input.unwrap().path();
            let result = harness::replay(target, &std::fs::read(&path).unwrap(), &out.path().join("replay"));
            assert!(result.is_ok(), "{}: {}", path.display(), result.unwrap_err());
            replayed += 1;
        }
    }

    let dog = Watchdog::start(harness::HANG_SECS);
    let mut failures = Vec::new();
    for target in TARGETS {
        let seeds: Vec<Vec<u8>> = harness::corpus(root, target.name).into_iter().map(|(_, b)| b).collect();
        assert!(!seeds.is_empty(), "no seeds for {}", target.name);
        let budget = Budget { execs: u64::MAX, secs: SECS_PER_TARGET };
        let parts: Vec<harness::Stats> = std::thread::scope(|scope| {
            let workers: Vec<_> = (1..=2)
                .map(|seed| {
                    let (seeds, out, dog) = (&seeds, out.path(), &dog);
                    scope.spawn(move || harness::fuzz(target, seeds, budget, seed, out, dog))
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let execs: u64 = parts.iter().map(|p| p.execs).sum();
        // Every seed is read as it is first: a seed the reader refuses tests nothing.
        assert!(execs as usize > seeds.len(), "{}: only {execs} executions", target.name);
        for part in parts {
            failures.extend(part.panic_messages.into_iter().map(|m| format!("{}: {m}", target.name)));
        }
        eprintln!("{}: {execs} executions", target.name);
    }
    dog.stop();
    assert!(failures.is_empty(), "{replayed} regressions replayed; panics:\n{}", failures.join("\n"));
}

#[test]
fn every_seed_is_read_without_an_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    for target in TARGETS {
        for (name, bytes) in harness::corpus(root, target.name) {
            let mut scratch = harness::Scratch { dir: out.path().to_owned(), exec: 0 };
            (target.run)(&bytes, &mut scratch).unwrap_or_else(|e| panic!("seed {}/{name}: {e}", target.name));
        }
    }
}
