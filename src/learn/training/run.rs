//! A run is a folder: `config.toml`, `metrics.jsonl`, `status.json`, `checkpoints/`, `best.safetensors`,
//! `confusion/` and evaluation reports. Everything a watcher needs is read from files, so a run
//! started on another machine can be watched by opening its folder.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomically;
use crate::learn::error::LearnError;
use crate::learn::network::stage::TrainStage;
pub use crate::learn::scoring::confusion::{ConfusedNote, Confusion};

pub const CONFIG_TOML: &str = "config.toml";
pub const METRICS_JSONL: &str = "metrics.jsonl";
pub const STATUS_JSON: &str = "status.json";
pub const BEST_MODEL: &str = "best.safetensors";
pub const CHECKPOINTS: &str = "checkpoints";
pub const CONFUSION: &str = "confusion";

/// One line of metrics.jsonl: a training step or a validation pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    pub stage: TrainStage,
    /// "train" for a step, "valid" for the pass at the end of an epoch.
    pub split: String,
    pub step: usize,
    pub epoch: usize,
    pub wall_secs: f64,
    /// Losses, metrics, lr, temperature: every value under its own key.
    #[serde(flatten)]
    pub values: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Done,
    Cancelled,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    pub state: RunState,
    /// None while the run prepares its data.
    #[serde(deserialize_with = "crate::learn::network::stage::empty_as_none")]
    pub stage: Option<TrainStage>,
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub steps: usize,
    #[serde(default)]
    pub message: String,
    /// The training process and its machine, so a watcher on that machine can tell a run that
    /// was killed from one still going.
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub host: Option<String>,
}

pub use crate::platform::host_name;

impl RunStatus {
    /// Marked running, on this machine, by a process that no longer exists.
    pub fn is_orphaned(&self) -> bool {
        self.state == RunState::Running
            && self.host.is_some()
            && self.host == host_name()
            && self.pid.is_some_and(|pid| !crate::platform::process_alive(pid))
    }
}

#[derive(Clone, Debug)]
pub struct RunFolder {
    pub dir: PathBuf,
}

impl RunFolder {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned() }
    }

    pub fn create(dir: &Path) -> Result<Self, LearnError> {
        for sub in [dir.to_owned(), dir.join(CHECKPOINTS), dir.join(CONFUSION)] {
            std::fs::create_dir_all(&sub).map_err(|source| LearnError::Write { path: sub, source })?;
        }
        Ok(Self::new(dir))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn checkpoint(&self, stage: TrainStage) -> PathBuf {
        self.dir.join(CHECKPOINTS).join(format!("{stage}-last.safetensors"))
    }

    pub fn confusion_path(&self, epoch: usize) -> PathBuf {
        self.dir.join(CONFUSION).join(format!("epoch-{epoch:03}.json"))
    }

    pub fn append_metrics(&self, records: &[MetricRecord]) -> Result<(), LearnError> {
        let path = self.path(METRICS_JSONL);
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
            let mut text = String::new();
            for r in records {
                text.push_str(&serde_json::to_string(r).expect("records serialise"));
                text.push('\n');
            }
            // One write per batch of lines, so a watcher never sees half a line for long.
            file.write_all(text.as_bytes())
        };
        write().map_err(|source| LearnError::Write { path: path.clone(), source })
    }

    /// Every complete line of metrics.jsonl (a line still being written is skipped).
    pub fn read_metrics(&self) -> Result<Vec<MetricRecord>, LearnError> {
        let path = self.path(METRICS_JSONL);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(LearnError::Read { path, source }),
        };
        Ok(text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect())
    }

    /// Drops the records after `step` of `stage` (and of any later stage): a resumed run
    /// replays them from its checkpoint.
    pub fn truncate_metrics(&self, keep: impl Fn(&MetricRecord) -> bool) -> Result<(), LearnError> {
        let kept: Vec<MetricRecord> = self.read_metrics()?.into_iter().filter(|r| keep(r)).collect();
        let path = self.path(METRICS_JSONL);
        write_atomically(&path, |w| {
            for r in &kept {
                writeln!(w, "{}", serde_json::to_string(r).expect("records serialise"))?;
            }
            Ok(())
        })
        .map_err(|source| LearnError::Write { path, source })
    }

    pub fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), LearnError> {
        let text = serde_json::to_string_pretty(value).expect("values serialise");
        write_atomically(path, |w| w.write_all(text.as_bytes()))
            .map_err(|source| LearnError::Write { path: path.to_owned(), source })
    }

    pub fn read_status(&self) -> Option<RunStatus> {
        serde_json::from_str(&std::fs::read_to_string(self.path(STATUS_JSON)).ok()?).ok()
    }

    /// The newest confusion matrix, if any epoch has finished.
    pub fn latest_confusion(&self) -> Option<Confusion> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.join(CONFUSION))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        serde_json::from_str(&std::fs::read_to_string(names.last()?).ok()?).ok()
    }
}

/// Follows a run folder as it grows: new lines of metrics.jsonl, the status and the newest
/// confusion matrix, read incrementally (a resumed run that rewrote the file is read again).
pub struct RunWatch {
    pub folder: RunFolder,
    pub records: Vec<MetricRecord>,
    pub status: Option<RunStatus>,
    pub confusion: Option<Confusion>,
    offset: u64,
    partial: String,
    confusion_files: usize,
}

impl RunWatch {
    pub fn new(dir: &Path) -> Self {
        Self {
            folder: RunFolder::new(dir),
            records: Vec::new(),
            status: None,
            confusion: None,
            offset: 0,
            partial: String::new(),
            confusion_files: 0,
        }
    }

    pub fn name(&self) -> String {
        self.folder
            .dir
            .file_name()
            .map_or_else(|| self.folder.dir.display().to_string(), |n| n.to_string_lossy().into_owned())
    }

    /// Reads what changed; true when anything did.
    pub fn refresh(&mut self) -> bool {
        use std::io::{Read as _, Seek as _};
        let mut changed = false;
        let path = self.folder.path(METRICS_JSONL);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            self.records.clear();
            self.offset = 0;
            self.partial.clear();
            changed = true;
        }
        if len > self.offset
            && let Ok(mut file) = std::fs::File::open(&path)
            && file.seek(std::io::SeekFrom::Start(self.offset)).is_ok()
        {
            let mut text = String::new();
            if file.read_to_string(&mut text).is_ok() {
                self.offset += text.len() as u64;
                self.partial.push_str(&text);
                let complete = self.partial.rfind('\n').map_or(0, |i| i + 1);
                let lines: String = self.partial.drain(..complete).collect();
                self.records.extend(lines.lines().filter_map(|l| serde_json::from_str::<MetricRecord>(l).ok()));
                changed = true;
            }
        }
        let status = self.folder.read_status();
        if status != self.status {
            self.status = status;
            changed = true;
        }
        let files = std::fs::read_dir(self.folder.dir.join(CONFUSION)).map(|d| d.count()).unwrap_or(0);
        if files != self.confusion_files {
            self.confusion_files = files;
            self.confusion = self.folder.latest_confusion();
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_status_whose_process_is_gone_is_orphaned() {
        let status = |pid: u32, host: Option<String>| RunStatus {
            state: RunState::Running,
            stage: Some(TrainStage::Mtl),
            epoch: 1,
            epochs: 2,
            step: 3,
            steps: 6,
            message: String::new(),
            pid: Some(pid),
            host,
        };
        assert!(!status(std::process::id(), host_name()).is_orphaned());
        // Above the kernel's pid_max (at most 2^22), so no process has it.
        assert!(status(u32::MAX, host_name()).is_orphaned());
        assert!(!status(u32::MAX, Some("another-machine".into())).is_orphaned());
        let done = RunStatus { state: RunState::Done, ..status(u32::MAX, host_name()) };
        assert!(!done.is_orphaned());
    }

    #[test]
    fn a_half_written_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunFolder::create(dir.path()).unwrap();
        let record = |step| MetricRecord {
            stage: TrainStage::Ssl,
            split: "train".into(),
            step,
            epoch: 0,
            wall_secs: 0.5,
            values: BTreeMap::from([("loss".into(), 1.25)]),
        };
        run.append_metrics(&[record(0), record(1)]).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(run.path(METRICS_JSONL)).unwrap();
        file.write_all(b"{\"stage\":\"ssl\",\"spl").unwrap();
        assert_eq!(run.read_metrics().unwrap(), vec![record(0), record(1)]);
    }
}
