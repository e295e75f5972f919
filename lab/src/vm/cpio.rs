//! A minimal writer of `newc` cpio archives, the format of a Linux initramfs.
//!
//! Entries are kept sorted by path, and every file's parent directories are added, so a
//! directory always comes before what it holds (the kernel's unpacker does not create parents).
//! Archives can be concatenated: the kernel unpacks one after the other, later files replacing
//! earlier ones.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a regular file's bytes come from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// These bytes.
    Bytes(Vec<u8>),
    /// This host file (symlinks followed), read when the archive is written.
    Host(PathBuf),
}

#[derive(Clone, Debug)]
enum Entry {
    Dir,
    File { mode: u32, src: Source },
    Symlink(String),
    CharDev { mode: u32, major: u32, minor: u32 },
}

/// An archive being assembled; see the module documentation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cpio {
    entries: BTreeMap<String, Entry>,
}

/// `/a/b/` → `a/b`.
fn norm(path: &str) -> String {
    path.trim_matches('/').to_string()
}

impl Cpio {
    /// Adds a directory (and its parents).
    pub(crate) fn dir(&mut self, path: &str) {
        let p = norm(path);
        if p.is_empty() {
            return;
        }
        self.parents(&p);
        self.entries.entry(p).or_insert(Entry::Dir);
    }

    fn parents(&mut self, p: &str) {
        let mut acc = String::new();
        let comps: Vec<&str> = p.split('/').collect();
        for c in &comps[..comps.len() - 1] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(c);
            self.entries.entry(acc.clone()).or_insert(Entry::Dir);
        }
    }

    /// Adds a regular file with permission bits `mode` (replacing any entry at that path).
    pub(crate) fn file(&mut self, path: &str, mode: u32, src: Source) {
        let p = norm(path);
        self.parents(&p);
        self.entries.insert(p, Entry::File { mode, src });
    }

    /// Adds a symbolic link `path` → `target` (replacing any entry at that path).
    pub(crate) fn symlink(&mut self, path: &str, target: &str) {
        let p = norm(path);
        self.parents(&p);
        self.entries.insert(p, Entry::Symlink(target.to_string()));
    }

    /// Adds a character device node.
    pub(crate) fn chardev(&mut self, path: &str, mode: u32, major: u32, minor: u32) {
        let p = norm(path);
        self.parents(&p);
        self.entries
            .insert(p, Entry::CharDev { mode, major, minor });
    }

    /// Whether something is at `path`.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(&norm(path))
    }

    /// Adds the tree under host directory `host` at `guest` (files keep their permission bits).
    pub(crate) fn tree(&mut self, host: &Path, guest: &str) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.dir(guest);
        let mut entries: Vec<_> = std::fs::read_dir(host)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let g = format!("{}/{name}", norm(guest));
            let ft = e.file_type()?;
            if ft.is_dir() {
                self.tree(&e.path(), &g)?;
            } else if ft.is_symlink() {
                let t = std::fs::read_link(e.path())?;
                self.symlink(&g, &t.to_string_lossy());
            } else {
                let mode = e.metadata()?.permissions().mode() & 0o7777;
                self.file(&g, mode, Source::Host(e.path()));
            }
        }
        Ok(())
    }

    /// Writes the archive (with its `TRAILER!!!`) to `w`.
    pub(crate) fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let mut ino = 1u32;
        for (path, e) in &self.entries {
            ino += 1;
            match e {
                Entry::Dir => header(w, ino, 0o040755, 2, 0, (0, 0), path)?,
                Entry::Symlink(t) => {
                    header(w, ino, 0o120777, 1, t.len() as u32, (0, 0), path)?;
                    w.write_all(t.as_bytes())?;
                    pad(w, t.len())?;
                }
                Entry::CharDev { mode, major, minor } => {
                    header(w, ino, 0o020000 | mode, 1, 0, (*major, *minor), path)?
                }
                Entry::File { mode, src } => {
                    let data;
                    let bytes: &[u8] = match src {
                        Source::Bytes(b) => b,
                        Source::Host(p) => {
                            data = std::fs::read(p).map_err(|e| {
                                io::Error::new(e.kind(), format!("{}: {e}", p.display()))
                            })?;
                            &data
                        }
                    };
                    header(w, ino, 0o100000 | mode, 1, bytes.len() as u32, (0, 0), path)?;
                    w.write_all(bytes)?;
                    pad(w, bytes.len())?;
                }
            }
        }
        header(w, 0, 0, 1, 0, (0, 0), "TRAILER!!!")
    }
}

/// One `newc` header and the name, padded to 4 bytes.
fn header(
    w: &mut impl Write,
    ino: u32,
    mode: u32,
    nlink: u32,
    size: u32,
    rdev: (u32, u32),
    name: &str,
) -> io::Result<()> {
    let namesize = name.len() + 1;
    let h = format!(
        "070701{ino:08x}{mode:08x}{:08x}{:08x}{nlink:08x}{:08x}{size:08x}{:08x}{:08x}{:08x}{:08x}{namesize:08x}{:08x}",
        0, 0, 0, 0, 0, rdev.0, rdev.1, 0
    );
    w.write_all(h.as_bytes())?;
    w.write_all(name.as_bytes())?;
    w.write_all(&[0])?;
    pad(w, h.len() + namesize)
}

fn pad(w: &mut impl Write, len: usize) -> io::Result<()> {
    let n = (4 - len % 4) % 4;
    w.write_all(&[0u8; 3][..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_fields_are_aligned() {
        let mut c = Cpio::default();
        c.file("/usr/bin/x", 0o755, Source::Bytes(b"abc".to_vec()));
        c.symlink("bin/sh", "busybox");
        let mut out = Vec::new();
        c.write_to(&mut out).unwrap();
        let text = String::from_utf8_lossy(&out);
        let names: Vec<&str> = ["bin\0", "bin/sh\0", "usr\0", "usr/bin\0", "usr/bin/x\0"]
            .into_iter()
            .collect();
        let mut last = 0;
        for n in names {
            let at = text.find(n).unwrap_or_else(|| panic!("{n:?} missing"));
            assert!(at > last, "{n:?} out of order");
            last = at;
        }
        assert_eq!(out.len() % 4, 0);
        assert!(out.ends_with(b"TRAILER!!!\0\0\0\0"));
        // The first entry is the directory `bin`: mode 040755, name size 4.
        assert!(text.starts_with("070701"));
        assert_eq!(&text[14..22], "000041ed");
        assert_eq!(&text[94..102], "00000004");
    }
}
