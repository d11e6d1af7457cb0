//! A bounded mutation fuzzer for every reader of a user's file, on the stable toolchain.
//!
//! Each target's seeds (`fuzz/corpus/TARGET/`) are mutated (bit flips, interesting integers
//! at any offset, cuts, repeats, splices with other seeds, and in text formats numbers and whole
//! lines) and fed to the entry point the program itself uses on such a file. A panic that
//! escapes, an execution over [`HANG_SECS`] or an allocation the memory limit refuses is a
//! failure: panics are counted and their inputs kept under `target/fuzz/crashes/TARGET/`; a
//! hang or an exhausted memory aborts the run, with the input in `target/fuzz/current-*`.
//! Errors (the file is refused with a message) are the expected outcome and are counted too.
//!
//! Shared by `examples/fuzz.rs` (long runs, and the seeds) and `tests/fuzz.rs` (the short run
//! in CI, and every input that ever failed, from `fuzz/regressions/`).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use timbrescope::audio::load_clip_from_bytes;
use timbrescope::data::dataset::Dataset;
use timbrescope::data::gus::patch;
use timbrescope::data::gus::voice::{self, PatchOptions};
use timbrescope::data::mixture::read_npz;
use timbrescope::data::soundfont::{NoteSpec, SoundFontBank};
use timbrescope::degrade::{ChainSpec, apply_chain};
use timbrescope::learn::Predictor;

mod mutate;

pub use mutate::mutate;

/// An execution longer than this is a hang, unless a run sets its own limit.
pub const HANG_SECS: u64 = 10;
/// Live heap above this is refused, so a file that makes the program allocate without bound
/// fails here (the infallible allocation aborts) instead of exhausting the machine.
pub const MEMORY_LIMIT_BYTES: usize = 4 << 30;
/// Mutants are cut to this size.
const MAX_INPUT_BYTES: usize = 1 << 20;

/// The global allocator of the fuzzing binaries: the system's, with a limit on live bytes.
pub struct LimitedAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator; the counter only decides whether to.
unsafe impl GlobalAlloc for LimitedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grow = new_size.saturating_sub(layout.size());
        if !reserve(grow) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from this allocator with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            LIVE_BYTES.fetch_sub(grow, Ordering::Relaxed);
        } else if new_size < layout.size() {
            LIVE_BYTES.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        p
    }
}

fn reserve(bytes: usize) -> bool {
    let before = LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed);
    if before.saturating_add(bytes) > MEMORY_LIMIT_BYTES {
        LIVE_BYTES.fetch_sub(bytes, Ordering::Relaxed);
        return false;
    }
    true
}

/// One reader of a user's file.
pub struct Target {
    pub name: &'static str,
    /// Text formats also get their numbers and lines mutated.
    pub text: bool,
    /// Reads `input` as the program would; `Err` is a refusal with a message.
    pub run: fn(&[u8], &mut Scratch) -> Result<(), String>,
}

/// Per-worker state of the targets: a private folder for the readers that take a path, and the
/// count of executions (some targets do their expensive part on a fraction of them).
pub struct Scratch {
    pub dir: PathBuf,
    pub exec: u64,
}

impl Scratch {
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).expect("writing into the scratch folder");
        path
    }
}

/// Every target, in the order the README lists them.
pub const TARGETS: &[Target] = &[
    Target { name: "wav", text: false, run: audio },
    Target { name: "flac", text: false, run: audio },
    Target { name: "mp3", text: false, run: audio },
    Target { name: "ogg", text: false, run: audio },
    Target { name: "sf2", text: false, run: sf2 },
    Target { name: "gus_patch", text: false, run: gus_patch },
    Target { name: "examples_json", text: true, run: examples_json },
    Target { name: "chain_toml", text: true, run: chain_toml },
    Target { name: "chain_json", text: true, run: chain_json },
    Target { name: "model", text: false, run: model },
    Target { name: "mixture_npz", text: false, run: mixture_npz },
];

pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn audio(input: &[u8], _: &mut Scratch) -> Result<(), String> {
    load_clip_from_bytes("fuzz", input).map(drop).map_err(|e| e.to_string())
}

/// Parses the bank, then renders a short note of every preset it has (up to four).
fn sf2(input: &[u8], scratch: &mut Scratch) -> Result<(), String> {
    let bank = SoundFontBank::load(scratch.file("bank.sf2", input)).map_err(|e| e.to_string())?;
    let spec = NoteSpec { sample_rate_hz: 16_000, duration_secs: 0.05, hold_secs: 0.03 };
    let programs: Vec<u8> = (0..=127).filter(|&p| bank.program_name(p).is_some()).take(4).collect();
    for program in programs {
        bank.render_note(program, 60, 100, &spec).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn gus_patch(input: &[u8], _: &mut Scratch) -> Result<(), String> {
    let patch = patch::parse(input).map_err(|e| e.to_string())?;
    let spec = NoteSpec { sample_rate_hz: 16_000, duration_secs: 0.05, hold_secs: 0.03 };
    for pitch in [21, 60, 108] {
        voice::render(&patch, &PatchOptions::default(), pitch, 100, &spec);
    }
    Ok(())
}

fn examples_json(input: &[u8], scratch: &mut Scratch) -> Result<(), String> {
    scratch.file("examples.json", input);
    Dataset::open(&scratch.dir).map(drop).map_err(|e| e.to_string())
}

fn chain(input: &[u8], scratch: &mut Scratch, name: &str) -> Result<(), String> {
    let spec = ChainSpec::load(&scratch.file(name, input)).map_err(|e| e.to_string())?;
    let stages = spec.draw(scratch.exec).map_err(|e| e.to_string())?;
    // Applying a chain takes milliseconds (rooms, codecs): one draw in 64 is applied.
    if scratch.exec.is_multiple_of(64) {
        let clip: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.07).sin() * 0.3).collect();
        apply_chain(&clip, 16_000, &stages).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn chain_toml(input: &[u8], scratch: &mut Scratch) -> Result<(), String> {
    chain(input, scratch, "chain.toml")
}

fn chain_json(input: &[u8], scratch: &mut Scratch) -> Result<(), String> {
    chain(input, scratch, "chain.json")
}

/// Loads the model as the prediction panel does; one load in 256 also predicts.
fn model(input: &[u8], scratch: &mut Scratch) -> Result<(), String> {
    let mut predictor = Predictor::load(&scratch.file("model.safetensors", input)).map_err(|e| e.to_string())?;
    if scratch.exec.is_multiple_of(256) {
        let clip: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.1).sin() * 0.3).collect();
        predictor.predict(&clip, 3).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn mixture_npz(input: &[u8], scratch: &mut Scratch) -> Result<(), String> {
    read_npz(&scratch.file("mixture.npz", input)).map(drop).map_err(|e| e.to_string())
}

/// The seeds of a target, sorted by name.
pub fn corpus(root: &Path, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = root.join("fuzz/corpus").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).expect("a seed")))
        .collect();
    seeds.sort();
    seeds
}

/// What a run of one target did.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub execs: u64,
    /// Inputs the reader refused with an error (the expected outcome for most mutants).
    pub refused: u64,
    pub panics: u64,
    /// The first panic messages, with where their inputs were saved.
    pub panic_messages: Vec<String>,
    pub secs: f64,
    /// The longest single execution.
    pub slowest_ms: f64,
}

/// How long a run of one target lasts: whichever limit comes first.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub execs: u64,
    pub secs: f64,
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Keeps panic messages for the report instead of printing each one.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("{info}");
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
    }));
}

/// Watches running executions; aborts the process, naming the target and the input file, when
/// one outlasts [`HANG_SECS`].
pub struct Watchdog {
    slots: Mutex<Vec<Arc<Slot>>>,
    stop: AtomicBool,
    hang_secs: u64,
}

pub struct Slot {
    target: Mutex<&'static str>,
    input: PathBuf,
    /// Milliseconds since `epoch` when the running execution started; 0 when idle.
    started_ms: AtomicU64,
    epoch: Instant,
}

impl Watchdog {
    pub fn start(hang_secs: u64) -> Arc<Watchdog> {
        let dog = Arc::new(Watchdog { slots: Mutex::new(Vec::new()), stop: AtomicBool::new(false), hang_secs });
        let watching = dog.clone();
        std::thread::Builder::new()
            .name("fuzz-watchdog".into())
            .spawn(move || {
                while !watching.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    for slot in watching.slots.lock().unwrap().iter() {
                        let started = slot.started_ms.load(Ordering::Relaxed);
                        let now = slot.epoch.elapsed().as_millis() as u64;
                        if started > 0 && now.saturating_sub(started) > watching.hang_secs * 1000 {
                            eprintln!(
                                "HANG: target {} ran over {} s on the input in {}",
                                slot.target.lock().unwrap(),
                                watching.hang_secs,
                                slot.input.display()
                            );
                            std::process::abort();
                        }
                    }
                }
            })
            .expect("spawning the watchdog");
        dog
    }

    fn slot(&self, input: PathBuf) -> Arc<Slot> {
        let slot =
            Arc::new(Slot { target: Mutex::new(""), input, started_ms: AtomicU64::new(0), epoch: Instant::now() });
        self.slots.lock().unwrap().push(slot.clone());
        slot
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs one target on one thread: every seed once as it is, then mutants of them until the
/// budget is spent. `out` holds the scratch folders, the current input and the crashes.
pub fn fuzz(
    target: &'static Target,
    seeds: &[Vec<u8>],
    budget: Budget,
    rng_seed: u64,
    out: &Path,
    dog: &Watchdog,
) -> Stats {
    let worker = format!("{}-{rng_seed}", target.name);
    let dir = out.join("scratch").join(&worker);
    std::fs::create_dir_all(&dir).expect("creating the scratch folder");
    let current = out.join(format!("current-{worker}"));
    let slot = dog.slot(current.clone());
    *slot.target.lock().unwrap() = target.name;
    let mut scratch = Scratch { dir, exec: 0 };
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    let mut stats = Stats::default();
    let start = Instant::now();
    let mut input = Vec::new();
    while stats.execs < budget.execs && start.elapsed().as_secs_f64() < budget.secs {
        input.clear();
        match seeds.get(stats.execs as usize) {
            Some(seed) => input.extend_from_slice(seed),
            None => {
                input.extend_from_slice(&seeds[rng.random_range(0..seeds.len())]);
                mutate(&mut input, seeds, target.text, &mut rng);
            }
        }
        // The input is on disk before it runs, so an abort (hang, memory) leaves it behind.
        std::fs::write(&current, &input).expect("writing the current input");
        scratch.exec = stats.execs;
        slot.started_ms.store(slot.epoch.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
        let began = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&input, &mut scratch)));
        stats.slowest_ms = stats.slowest_ms.max(began.elapsed().as_secs_f64() * 1e3);
        slot.started_ms.store(0, Ordering::Relaxed);
        stats.execs += 1;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(_)) => stats.refused += 1,
            Err(_) => {
                stats.panics += 1;
                let saved = save_crash(out, target.name, &input);
                let message = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
                if stats.panic_messages.len() < 5 {
                    stats.panic_messages.push(format!("{message} (input: {})", saved.display()));
                }
            }
        }
    }
    stats.secs = start.elapsed().as_secs_f64();
    stats
}

/// Runs `input` once through `target`, as a regression: `Err` with the panic message if it panics.
pub fn replay(target: &'static Target, input: &[u8], scratch_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(scratch_dir).expect("creating the scratch folder");
    let mut scratch = Scratch { dir: scratch_dir.to_owned(), exec: 0 };
    match catch_unwind(AssertUnwindSafe(|| (target.run)(input, &mut scratch))) {
        Ok(_) => Ok(()),
        Err(_) => Err(LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default()),
    }
}

fn save_crash(out: &Path, target: &str, input: &[u8]) -> PathBuf {
    let dir = out.join("crashes").join(target);
    std::fs::create_dir_all(&dir).expect("creating the crash folder");
    let path = dir.join(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(input)));
    std::fs::write(&path, input).expect("saving a crash");
    path
}

/// A line of the report: target, executions, refused, panics, executions a second, slowest.
pub fn report_line(name: &str, stats: &Stats) -> String {
    format!(
        "| {name} | {} | {} | {} | {:.0} | {:.0} ms |",
        stats.execs,
        stats.refused,
        stats.panics,
        stats.execs as f64 / stats.secs.max(1e-9),
        stats.slowest_ms
    )
}

pub fn flush() {
    let _ = std::io::stdout().flush();
}
