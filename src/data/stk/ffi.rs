//! The call into shim.cpp. STK keeps process-wide state (the sample rate, wavetables shared
//! between instances, and its noise drawn from the C library's one generator), so renders take
//! a lock: one STK note at a time, each reproducible from its seed.

use std::path::Path;

/// One note for the shim: per-block pitch (cents) and gain curves at the note's rate.
// Without the stk feature nothing reads it: the render is refused.
#[cfg_attr(not(feature = "stk"), allow(dead_code))]
pub struct Note<'a> {
    pub model: i32,
    pub rate_hz: u32,
    pub frequency_hz: f64,
    pub amplitude: f64,
    pub cents: &'a [f32],
    pub gain: &'a [f32],
    /// Samples per control block.
    pub block: usize,
    /// Note off at this sample.
    pub hold: usize,
    /// Control changes sent before note on.
    pub controls: &'a [(i32, f64)],
    pub seed: u32,
}

#[cfg(feature = "stk")]
mod linked {
    use std::ffi::{CStr, CString, c_char, c_int};
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use super::Note;

    unsafe extern "C" {
        fn ts_stk_init(rawwaves: *const c_char, err: *mut c_char, err_len: usize) -> c_int;
        #[allow(clippy::too_many_arguments)]
        fn ts_stk_render(
            kind: c_int,
            rate: f64,
            frequency: f64,
            amplitude: f64,
            cents: *const f32,
            gain: *const f32,
            blocks: usize,
            block: usize,
            hold: usize,
            cc_numbers: *const c_int,
            cc_values: *const f64,
            ccs: usize,
            seed: u32,
            out: *mut f32,
            n: usize,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int;
    }

    /// The rawwave folder STK was last set to; `None` before the first render.
    static STK: Mutex<Option<PathBuf>> = Mutex::new(None);

    fn message(buffer: &[u8]) -> String {
        CStr::from_bytes_until_nul(buffer).map_or_else(|_| "STK failed".into(), |m| m.to_string_lossy().into_owned())
    }

    pub fn render(rawwaves: &Path, note: &Note, n: usize) -> Result<Vec<f32>, String> {
        let curves_ok = !note.cents.is_empty() && note.cents.len() == note.gain.len();
        if !curves_ok || note.block == 0 || note.frequency_hz.is_nan() || note.frequency_hz <= 0.0 {
            return Err("a note needs pitch and gain curves of equal, non-zero length".into());
        }
        let mut err = vec![0u8; 512];
        // A poisoned lock only means another render panicked; STK's state is still whole.
        let mut state = STK.lock().unwrap_or_else(|p| p.into_inner());
        if state.as_deref() != Some(rawwaves) {
            let path = CString::new(rawwaves.as_os_str().as_encoded_bytes())
                .map_err(|_| format!("rawwave folder {} holds a NUL byte", rawwaves.display()))?;
            // SAFETY: both strings are NUL-terminated and err is err.len() bytes long.
            let rc = unsafe { ts_stk_init(path.as_ptr(), err.as_mut_ptr().cast(), err.len()) };
            if rc != 0 {
                return Err(message(&err));
            }
            *state = Some(rawwaves.to_owned());
        }
        let numbers: Vec<c_int> = note.controls.iter().map(|c| c.0).collect();
        let values: Vec<f64> = note.controls.iter().map(|c| c.1).collect();
        let mut out = vec![0f32; n];
        // SAFETY: every pointer is valid for the length passed beside it; the shim reads the
        // curves and controls, writes n samples to out and at most err.len() bytes to err.
        let rc = unsafe {
            ts_stk_render(
                note.model,
                f64::from(note.rate_hz),
                note.frequency_hz,
                note.amplitude,
                note.cents.as_ptr(),
                note.gain.as_ptr(),
                note.cents.len(),
                note.block,
                note.hold,
                numbers.as_ptr(),
                values.as_ptr(),
                numbers.len(),
                note.seed,
                out.as_mut_ptr(),
                n,
                err.as_mut_ptr().cast(),
                err.len(),
            )
        };
        drop(state);
        if rc != 0 {
            return Err(message(&err));
        }
        Ok(out)
    }
}

/// Renders `n` samples of `note` at its rate.
pub fn render(rawwaves: &Path, note: &Note, n: usize) -> Result<Vec<f32>, String> {
    #[cfg(feature = "stk")]
    return linked::render(rawwaves, note, n);
    #[cfg(not(feature = "stk"))]
    {
        let _ = (rawwaves, note, n);
        Err("this build has no STK (build with the stk feature and Debian's libstk-dev)".into())
    }
}
