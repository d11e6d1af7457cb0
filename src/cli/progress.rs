//! The terminal progress bar every long verb shows (hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar with count, rate and ETA; feed it with `update(done, total)`.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(what: &str) -> Self {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} ETA {eta}")
            .expect("the template is valid")
            .progress_chars("#>-");
        bar.set_style(style);
        bar.set_message(what.to_owned());
        Self { bar }
    }

    pub fn update(&self, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// All cores unless the user says otherwise; zero is refused by name.
pub fn threads(requested: Option<usize>) -> anyhow::Result<usize> {
    match requested {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}
