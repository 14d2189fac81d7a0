//! Writers. Everything a run writes goes through [`OutputDir`]: each file is written to a temporary name
//! beside its final one and only renamed into place when the whole run has succeeded, so a failed run
//! leaves no half-written file (SPEC §6).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An advisory lock (`flock`) on the folder itself, so that no lock file is left behind; released when
/// the returned handle is dropped or the process ends, however it ends. Held by another run: an error
/// saying so. A file system without locks: no lock (the run must not fail for want of one).
fn lock_dir(dir: &Path) -> io::Result<Option<File>> {
    if !cfg!(unix) {
        return Ok(None);
    }
    let Ok(f) = File::open(dir) else {
        return Ok(None);
    };
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "another run is writing to {} (the folder is locked); wait for it to end, or give another --out",
                dir.display()
            ),
        )),
        Err(fs::TryLockError::Error(_)) => Ok(None),
    }
}

/// How many rates a terminal line about T-5 names before "and N more" (manifest.json lists them all).
pub const RATES_SHOWN: usize = 5;

/// The first `shown` of `items` joined with ", ", then " and N more" for the rest: for a line on the
/// terminal that names things listed in full in a file.
pub fn first_few(items: &[String], shown: usize) -> String {
    let mut s = items[..items.len().min(shown)].join(", ");
    if items.len() > shown {
        s.push_str(&format!(" and {} more", items.len() - shown));
    }
    s
}

/// A set of output files written under temporary names and renamed into place by [`OutputDir::commit`].
/// Dropping it without committing removes the temporary files.
pub struct OutputDir {
    dir: PathBuf,
    pending: Vec<(PathBuf, PathBuf)>,
    /// Files of an earlier run that this run must not leave behind (removed at commit).
    obsolete: Vec<PathBuf>,
    /// Subfolders whose files not written by this run are removed at commit.
    owned_subdirs: Vec<PathBuf>,
    /// The folder itself, locked while this run writes into it (see [`lock_dir`]).
    _lock: Option<File>,
}

impl OutputDir {
    /// Creates the folder (and its parents) if needed, and locks it: a second run writing into the same
    /// folder at the same time (two cron jobs overlapping) fails here instead of removing this run's
    /// temporary files as stale and leaving its own behind.
    pub fn create(dir: &Path) -> io::Result<OutputDir> {
        fs::create_dir_all(dir)?;
        let lock = lock_dir(dir)?;
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            pending: Vec::new(),
            obsolete: Vec::new(),
            owned_subdirs: Vec::new(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `name` (a path relative to the folder; subfolders are created) through `write`, to a
    /// temporary file that [`commit`](Self::commit) renames into place. `private` files (holding person
    /// numbers) are readable by the owner only.
    pub fn write_file<F>(&mut self, name: &str, private: bool, write: F) -> io::Result<()>
    where
        F: FnOnce(&mut dyn Write) -> io::Result<()>,
    {
        let target = self.dir.join(name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let file_name = target.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let tmp = target.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
        let file = open_new(&tmp, private)?;
        // Register before writing so that a failure below still removes the temporary file on drop.
        self.pending.push((tmp, target));
        let mut w = BufWriter::with_capacity(1 << 16, file);
        write(&mut w)?;
        finish_file(w)
    }

    /// Opens `name` for writing by a caller that streams into it (see [`OutputDir::write_file`] for
    /// temporary names and modes); finish with [`finish_file`]. The file is registered before anything is
    /// written, so a failure removes it.
    pub fn open_file(&mut self, name: &str, private: bool) -> io::Result<BufWriter<File>> {
        let target = self.dir.join(name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let file_name = target.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let tmp = target.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
        let file = open_new(&tmp, private)?;
        self.pending.push((tmp, target));
        Ok(BufWriter::with_capacity(1 << 16, file))
    }

    /// Writes `name` anew from what was written to it before in this run: `filter` reads the earlier
    /// (still temporary) text and writes the new one. For a second pass over a streamed file (e.g. the
    /// new ledger once T-3 has decided who is paid).
    pub fn rewrite_file<F>(&mut self, name: &str, private: bool, filter: F) -> io::Result<()>
    where
        F: FnOnce(&mut dyn io::BufRead, &mut dyn Write) -> io::Result<()>,
    {
        let target = self.dir.join(name);
        let Some(i) = self.pending.iter().position(|(_, t)| *t == target) else {
            return Err(io::Error::other(format!(
                "{name} was not written in this run"
            )));
        };
        let old_tmp = self.pending[i].0.clone();
        let file_name = target.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let tmp = target.with_file_name(format!(".{file_name}.tmp-{}-2", std::process::id()));
        let file = open_new(&tmp, private)?;
        self.pending.push((tmp, target));
        let mut r = io::BufReader::with_capacity(1 << 16, File::open(&old_tmp)?);
        let mut w = BufWriter::with_capacity(1 << 16, file);
        filter(&mut r, &mut w)?;
        finish_file(w)?;
        // The earlier text is gone; the new one takes its place in the commit.
        self.pending.remove(i);
        fs::remove_file(&old_tmp)
    }

    /// Convenience for small files held in memory.
    pub fn write_bytes(&mut self, name: &str, private: bool, bytes: &[u8]) -> io::Result<()> {
        self.write_file(name, private, |w| w.write_all(bytes))
    }

    /// Marks a file left in the folder by an earlier run (e.g. a payment file this run does not write) to be
    /// removed when the run commits, so the folder never mixes two runs' files. Nothing happens on failure.
    pub fn remove_on_commit(&mut self, name: &str) {
        self.obsolete.push(self.dir.join(name));
    }

    /// Declares that the subfolder `rel` belongs to this run wholly: at commit, every file in it that this
    /// run did not write (left by an earlier run, e.g. another termin's `kommuner/KNR/` folders) is removed.
    /// Only for folders the tool itself creates.
    pub fn own_subdir(&mut self, rel: &str) {
        self.owned_subdirs.push(self.dir.join(rel));
    }

    /// Renames every written file into place, then removes the obsolete ones.
    pub fn commit(mut self) -> io::Result<()> {
        let written: std::collections::HashSet<PathBuf> =
            self.pending.iter().map(|(_, t)| t.clone()).collect();
        for (tmp, target) in std::mem::take(&mut self.pending) {
            fs::rename(&tmp, &target)?;
            remove_stale_temps(&target);
        }
        for sub in std::mem::take(&mut self.owned_subdirs) {
            remove_unwritten(&sub, &written)?;
        }
        for old in std::mem::take(&mut self.obsolete) {
            match fs::remove_file(&old) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        for (tmp, _) in &self.pending {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Removes `.{name}.tmp-{pid}` (and `.{name}.tmp-{pid}-2`, [`OutputDir::rewrite_file`]) files beside `target` left by an earlier run that was killed before it
/// could clean up (a killed process runs no `Drop`); ours has just been renamed away.
fn remove_stale_temps(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let stale = e.file_name().to_str().is_some_and(|n| {
            n.strip_prefix(&prefix).is_some_and(|pid| {
                pid.starts_with(|c: char| c.is_ascii_digit())
                    && pid.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            })
        });
        if stale {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Removes every file under `dir` not in `keep`, and folders left empty. A missing `dir` is fine.
fn remove_unwritten(dir: &Path, keep: &std::collections::HashSet<PathBuf>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            remove_unwritten(&path, keep)?;
            if fs::read_dir(&path)?.next().is_none() {
                fs::remove_dir(&path)?;
            }
        } else if !keep.contains(&path) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Flushes and syncs a file opened by [`OutputDir::open_file`] (it is renamed into place at commit).
pub fn finish_file(w: BufWriter<File>) -> io::Result<()> {
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

fn open_new(path: &Path, private: bool) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    opts.open(path)
}

pub mod basis;
pub mod manifest;
pub mod pain001;
pub mod payment;
pub mod split;
pub mod vedtak;
pub mod xlsx;

/// A CSV writer with the project's output conventions: `,` delimiter, `\n` line ends, quoting as needed.
pub fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .delimiter(b',')
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_written_by_one_run_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let first = OutputDir::create(tmp.path()).unwrap();
        let second = OutputDir::create(tmp.path()).err().expect("locked");
        assert_eq!(second.kind(), io::ErrorKind::WouldBlock);
        assert!(
            second.to_string().contains("another run is writing to"),
            "{second}"
        );
        drop(first);
        let mut again = OutputDir::create(tmp.path()).unwrap();
        again.write_bytes("a.csv", false, b"x\n").unwrap();
        again.commit().unwrap();
        // No lock file is left behind.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.csv")]);
    }

    #[test]
    fn first_few_names_some_and_counts_the_rest() {
        let items: Vec<String> = (1..=7).map(|i| format!("r{i}")).collect();
        assert_eq!(first_few(&items[..0], 5), "");
        assert_eq!(first_few(&items[..5], 5), "r1, r2, r3, r4, r5");
        assert_eq!(first_few(&items[..6], 5), "r1, r2, r3, r4, r5 and 1 more");
        assert_eq!(first_few(&items, 2), "r1, r2 and 5 more");
    }

    #[test]
    fn commit_renames_and_drop_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let mut out = OutputDir::create(tmp.path()).unwrap();
            out.write_bytes("a.csv", false, b"x\n").unwrap();
            assert!(
                !tmp.path().join("a.csv").exists(),
                "not visible before commit"
            );
        }
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "dropped without commit leaves nothing"
        );
        let mut out = OutputDir::create(tmp.path()).unwrap();
        out.write_bytes("sub/a.csv", true, b"x\n").unwrap();
        fs::write(tmp.path().join("old.xml"), b"stale").unwrap();
        out.remove_on_commit("old.xml");
        out.remove_on_commit("never-existed.xml");
        assert!(
            tmp.path().join("old.xml").exists(),
            "removed only at commit"
        );
        out.commit().unwrap();
        assert!(!tmp.path().join("old.xml").exists());
        assert_eq!(fs::read(tmp.path().join("sub/a.csv")).unwrap(), b"x\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(tmp.path().join("sub/a.csv"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
