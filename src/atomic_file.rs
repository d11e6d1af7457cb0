//! Writing files so that a crash, a full disk or an error never leaves a half-written one.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// Whether a file reaches the disk before its write returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Flushed before it is renamed into place.
    Synced,
    /// Renamed into place whole, flushed later by [`sync_folder`]: for many small files, where a
    /// flush each costs more than writing them.
    Deferred,
}

/// Writes through `fill` into a temporary file beside `path`, flushes it to the disk, then
/// renames it into place. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomically<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    write_atomically_with(path, Durability::Synced, fill)
}

/// [`write_atomically`], flushing as `durability` says.
pub fn write_atomically_with<F>(path: &Path, durability: Durability, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    let temp = temp_path(path);
    let result = (|| {
        let mut writer = BufWriter::new(File::create(&temp)?);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Flushes what was written under `folder` with [`Durability::Deferred`]: its file system at
/// once on Linux (`syncfs`), every file system on other Unix systems (`sync`). Elsewhere the
/// files are left to the system's own write-back.
pub fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let dir = File::open(folder)?;
        // SAFETY: the descriptor is open for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = folder;
        #[cfg(unix)]
        // SAFETY: sync takes no arguments and cannot fail.
        unsafe {
            libc::sync()
        };
        Ok(())
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn failure_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let err = write_atomically(&target, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomically(&target, |w| w.write_all(b"whole")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
    }
}
