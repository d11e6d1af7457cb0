//! The few calls that differ between operating systems, each in one place: whether a process
//! is alive, this machine's name, the CPU time used, and reading a file at an offset without
//! moving its cursor.

use std::fs::File;
use std::io;

/// Whether process `pid` still runs on this machine. Where that cannot be told, it is taken to
/// be alive, so nothing of a live process is ever cleaned up.
pub fn process_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let sent = unsafe { libc::kill(pid, 0) } == 0;
        sent || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// CPU seconds this process has used (user and system, all threads), where that can be told.
pub fn process_cpu_secs() -> Option<f64> {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given and touches nothing else.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: getrusage returned 0, so the struct is filled.
        let usage = unsafe { usage.assume_init() };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        Some(secs(usage.ru_utime) + secs(usage.ru_stime))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// This machine's name.
pub fn host_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string())
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let mut name = [0u8; 256];
        // SAFETY: the buffer is valid for its length, and gethostname writes within it.
        if unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } != 0 {
            return None;
        }
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Some(String::from_utf8_lossy(&name[..end]).into_owned())
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").ok()
    }
}

/// Fills `buf` from `file` at `offset`, leaving the file's cursor alone, so threads can share it.
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt as _;
        let (mut done, mut offset) = (0, offset);
        while done < buf.len() {
            match file.seek_read(&mut buf[done..], offset)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => (done, offset) = (done + n, offset + n as u64),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_pid_beyond_the_kernels_range_is_not() {
        assert!(process_alive(std::process::id()));
        // Linux caps pids at 2^22.
        assert!(!process_alive(u32::MAX - 1));
    }

    #[test]
    fn reads_at_an_offset_and_refuses_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = File::open(&path).unwrap();
        let mut buf = [0u8; 4];
        read_exact_at(&file, &mut buf, 3).unwrap();
        assert_eq!(&buf, b"3456");
        assert_eq!(read_exact_at(&file, &mut buf, 8).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert!(host_name().is_some_and(|h| !h.is_empty()));
    }
}
