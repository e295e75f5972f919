//! Tracked files (`vrrp_track_file`): reading a file's integer as keepalived does, creating
//! it for `init_file`, and an inotify watch on its folder so a change is seen at once.

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use tokio::io::unix::AsyncFd;

/// keepalived's value of a tracked file (`process_track_file`): the integer at its start
/// (`strtol` with base 0: decimal, `0x` hex, leading `0` octal), 0 when the file is missing,
/// empty or not a number; `None` for a number outside the 32-bit range (keepalived ignores
/// it and keeps the previous value).
pub fn read_value(path: &Path) -> Option<i64> {
    let Ok(text) = std::fs::read(path) else {
        return Some(0);
    };
    let text = String::from_utf8_lossy(&text[..text.len().min(127)]).into_owned();
    let v = parse_strtol(&text);
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&v)
        .then_some(v)
}

/// C's `strtol(s, NULL, 0)` over `s`, saturating: leading blanks, a sign, then digits of the
/// base the prefix says; 0 when no digit follows.
fn parse_strtol(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    let mut v: i64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { break };
        v = v
            .saturating_mul(i64::from(radix))
            .saturating_add(i64::from(d));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// `init_file VALUE`: create the file with the value when it does not exist (keepalived
/// leaves an existing file alone; `overwrite` is not supported).
pub fn init_file(path: &Path, value: i64) -> io::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    std::fs::write(path, format!("{value}\n"))?;
    Ok(true)
}

/// The inotify descriptor, registered with tokio.
struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Watches the folders of tracked files for files written, moved or deleted.
pub struct FileWatch {
    fd: AsyncFd<Fd>,
    /// (watch, folder) of every folder watched.
    dirs: Vec<(WatchDescriptor, PathBuf)>,
}

/// Something happened to `path`: read it again (written or moved in) or take it as 0
/// (deleted or moved away).
#[derive(Debug)]
pub struct FileEvent {
    /// The file's path (folder + name).
    pub path: PathBuf,
    /// Whether it was removed or moved away.
    pub gone: bool,
}

impl FileWatch {
    /// A new inotify instance.
    pub fn new() -> io::Result<FileWatch> {
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // SAFETY: the inotify descriptor is owned by `Fd` inside the `AsyncFd`, which
        // deregisters it before it is closed.
        let fd = unsafe { AsyncFd::register(Fd(ino)) }.map_err(|e| e.into_parts().1)?;
        Ok(FileWatch {
            fd,
            dirs: Vec::new(),
        })
    }

    /// Watches the folder of `path` (once per folder).
    pub fn watch(&mut self, path: &Path) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        if self.dirs.iter().any(|(_, d)| *d == dir) {
            return Ok(());
        }
        let flags =
            AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVE;
        let wd = self.fd.get_ref().0.add_watch(&dir, flags)?;
        self.dirs.push((wd, dir));
        Ok(())
    }

    /// The next batch of events (waits for one).
    pub async fn next(&self) -> io::Result<Vec<FileEvent>> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.read_events().map_err(io::Error::from)) {
                Ok(Ok(events)) => {
                    return Ok(events
                        .into_iter()
                        .filter(|e| !e.mask.contains(AddWatchFlags::IN_ISDIR))
                        .filter_map(|e| {
                            let dir = self.dirs.iter().find(|(wd, _)| *wd == e.wd)?;
                            Some(FileEvent {
                                path: dir.1.join(e.name?),
                                gone: e.mask.intersects(
                                    AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM,
                                ),
                            })
                        })
                        .collect())
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_strtol_does() {
        for (text, v) in [
            ("1\n", 1),
            ("  -20 apples", -20),
            ("0x10", 16),
            ("010", 8),
            ("+7", 7),
            ("", 0),
            ("abc", 0),
        ] {
            assert_eq!(parse_strtol(text), v, "{text:?}");
        }
        let dir = std::env::temp_dir().join(format!("vrrpd-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t");
        assert_eq!(read_value(&f), Some(0), "a missing file reads as 0");
        assert!(init_file(&f, 5).unwrap());
        assert_eq!(read_value(&f), Some(5));
        assert!(!init_file(&f, 9).unwrap(), "an existing file is left alone");
        std::fs::write(&f, "99999999999\n").unwrap();
        assert_eq!(read_value(&f), None, "outside 32 bits: ignored");
        let _ = std::fs::remove_dir_all(dir);
    }
}
