//! Head-related impulse responses from a SOFA file (by default the MIT KEMAR set that Debian's
//! libmysofa1 ships), resampled to the clip's rate, looked up by direction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sofar::reader::{Filter, OpenOptions, Sofar};

use super::DegradeError;

/// Where Debian's libmysofa1 puts the MIT KEMAR measurements.
pub const DEFAULT_SOFA: &str = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa";
/// Overrides [`DEFAULT_SOFA`] for every binaural response.
pub const SOFA_ENV: &str = "TIMBRESCOPE_SOFA";

/// The SOFA file binaural responses use: `$TIMBRESCOPE_SOFA`, else [`DEFAULT_SOFA`].
pub fn default_sofa_path() -> PathBuf {
    std::env::var_os(SOFA_ENV).map_or_else(|| PathBuf::from(DEFAULT_SOFA), PathBuf::from)
}

/// A cached set: its file and the rate it was resampled to.
type SetKey = (PathBuf, u32);

/// A set of HRIRs at one sample rate.
pub struct HrirSet {
    sofa: Sofar,
    pub path: PathBuf,
    pub sample_rate_hz: u32,
}

/// Both ears' responses for one direction, onset delays already applied.
pub struct EarPair {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
}

impl HrirSet {
    /// Reads and resamples a SOFA file; sets are cached per (file, rate) for the process.
    pub fn load(path: &Path, sample_rate_hz: u32) -> Result<Arc<HrirSet>, DegradeError> {
        static CACHE: OnceLock<Mutex<HashMap<SetKey, Arc<HrirSet>>>> = OnceLock::new();
        let key = (path.to_owned(), sample_rate_hz);
        let cache = CACHE.get_or_init(Default::default);
        if let Some(set) = cache.lock().expect("no panics while holding").get(&key) {
            return Ok(set.clone());
        }
        let bad = |reason: String| DegradeError::Sofa { path: path.to_owned(), reason };
        let bytes = std::fs::read(path).map_err(|e| {
            bad(format!("{e} (binaural responses need a SOFA file: install libmysofa1, or set {SOFA_ENV})"))
        })?;
        // sofar parses untrusted HDF5; a malformed file must be an error, not a crash.
        let opened = std::panic::catch_unwind(|| {
            OpenOptions::new().sample_rate(sample_rate_hz as f32).normalized(true).open_data(&bytes)
        })
        .map_err(|_| bad("malformed SOFA data".into()))?
        .map_err(|e| bad(e.to_string()))?;
        if opened.filter_len() == 0 || opened.num_measurements() == 0 {
            return Err(bad("the file holds no measurements".into()));
        }
        let set = Arc::new(HrirSet { sofa: opened, path: path.to_owned(), sample_rate_hz });
        cache.lock().expect("no panics while holding").insert(key, set.clone());
        Ok(set)
    }

    pub fn measurements(&self) -> u32 {
        self.sofa.num_measurements()
    }

    /// The responses for a source in direction `(x, y, z)` from the head (x ahead, y to the
    /// left, z up; any length): interpolated between the nearest measurements, or the nearest.
    pub fn ears(&self, direction: [f32; 3], interpolate: bool) -> EarPair {
        let mut filter = Filter::new(self.sofa.filter_len());
        let [x, y, z] = direction;
        if interpolate {
            self.sofa.filter(x, y, z, &mut filter);
        } else {
            self.sofa.filter_nointerp(x, y, z, &mut filter);
        }
        let sr = self.sample_rate_hz as f32;
        let delayed = |ir: &[f32], delay_secs: f32| {
            let d = (delay_secs * sr).round().max(0.0) as usize;
            let mut out = vec![0.0; d + ir.len()];
            out[d..].copy_from_slice(ir);
            out
        };
        EarPair { left: delayed(&filter.left, filter.ldelay), right: delayed(&filter.right, filter.rdelay) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(x: &[f32]) -> f64 {
        x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
    }

    /// First sample reaching half the peak: the onset, robust to the response's shape.
    fn onset(x: &[f32]) -> usize {
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        x.iter().position(|v| v.abs() >= 0.5 * peak).unwrap()
    }

    #[test]
    fn kemar_hears_a_left_source_louder_and_sooner_in_the_left_ear() {
        let Ok(set) = HrirSet::load(Path::new(DEFAULT_SOFA), 16_000) else {
            panic!("{DEFAULT_SOFA} is missing: scripts/setup.sh installs libmysofa1");
        };
        assert_eq!(set.measurements(), 710);
        let left = set.ears([0.0, 1.0, 0.0], true);
        // The far ear is shadowed by the head: several dB weaker (about 10 dB for KEMAR at 90°).
        let ild_db = 10.0 * (energy(&left.left) / energy(&left.right)).log10();
        assert!(ild_db > 5.0, "interaural level difference {ild_db} dB");
        // ...and reached later: the interaural time difference at 90° is about 0.65 ms (~10 samples).
        let itd = onset(&left.right) as i64 - onset(&left.left) as i64;
        assert!((5..=16).contains(&itd), "interaural time difference {itd} samples");
        let right = set.ears([0.0, -1.0, 0.0], false);
        assert!(energy(&right.right) > 3.0 * energy(&right.left));
        // Straight ahead the ears agree within a dB: the head is nearly symmetric.
        let front = set.ears([1.0, 0.0, 0.0], true);
        let front_db = 10.0 * (energy(&front.left) / energy(&front.right)).log10();
        assert!(front_db.abs() < 1.0, "{front_db}");
    }

    #[test]
    fn a_missing_or_corrupt_file_names_itself() {
        let err = HrirSet::load(Path::new("/nonexistent/kemar.sofa"), 16_000).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/kemar.sofa"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.sofa");
        std::fs::write(&junk, b"\x89HDF\r\n\x1a\nthis is not HDF5 at all").unwrap();
        let err = HrirSet::load(&junk, 16_000).err().unwrap();
        assert!(err.to_string().contains("junk.sofa"), "{err}");
    }
}
