//! The rotating JSON-lines file writer, owned by the worker thread.
//!
//! - Nothing is created before there is a line to write: the file, and its missing
//!   directories, are created when the first line comes. At start-up [`LogWriter::check_early`]
//!   only looks at the path, so that one that can never work is reported right away.
//! - One writer, one `write` per line on a file opened in append mode: lines are never
//!   interleaved, and each line reaches the kernel whole. A full disk can take the first part
//!   of a line and refuse the rest: that part is cut off again (when nothing was appended
//!   after it), so the file never keeps a torn line that a later newline would turn into a
//!   complete line that does not parse. A `kill -9` loses nothing that was written, but may
//!   stop a long line's write between two pages. When the file is (re)opened and does not end
//!   in a newline, one is added first, so a partial line never glues onto the next one. Lines
//!   are not fsynced one by one (a power cut may lose the last ones); [`LogWriter::sync`] runs
//!   at shutdown.
//! - Rotation by size: before a line would take the file past `max_bytes`, `path.N-1` moves to
//!   `path.N`, ..., `path` to `path.1`, and a fresh `path` is opened. `backups` 0 keeps no
//!   backup; `max_bytes` 0 never rotates. A line longer than `max_bytes` still gets written
//!   whole, alone in its file.
//! - External rotation: at most every [`REOPEN_CHECK_INTERVAL`] (on the next line to write),
//!   the writer compares the file at `path` with the one it holds: if it is gone (logrotate's
//!   move-and-create, a removed directory), has another inode, or shrank (copytruncate), the
//!   writer reopens `path`, creating missing directories.
//! - Failures (permissions, `path` a directory or under a file, a full disk): reported once
//!   through `tracing::error!` (target `otelix::slow_query`), at start-up when looking at the
//!   path tells, else with the first line, then again only after a line was written in
//!   between. Lines are dropped meanwhile and the file is reopened at most
//!   every [`RETRY_INTERVAL`]. A failed rotation is reported the same way and the writer keeps
//!   appending to the current file, retrying the rotation at the same pace.

use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::TRACING_TARGET;

/// How often, at most, the writer checks whether its file was moved, removed or truncated.
pub(super) const REOPEN_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long the writer waits before trying again after a failure.
pub(super) const RETRY_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct OpenLog {
    file: File,
    size: u64,
    identity: Option<FileIdentity>,
}

/// What tells two files apart when their path is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

#[derive(Debug)]
pub(super) struct LogWriter {
    path: PathBuf,
    max_bytes: u64,
    backups: usize,
    current: Option<OpenLog>,
    /// When the file may next be opened after a failure.
    open_retry_at: Option<Instant>,
    /// When rotation may next be tried after it failed.
    rotate_retry_at: Option<Instant>,
    checked_at: Option<Instant>,
    failing: bool,
    rotation_failing: bool,
    failures_reported: u64,
}

impl LogWriter {
    pub(super) fn new(path: PathBuf, max_bytes: u64, backups: usize) -> Self {
        LogWriter {
            path,
            max_bytes,
            backups,
            current: None,
            open_retry_at: None,
            rotate_retry_at: None,
            checked_at: None,
            failing: false,
            rotation_failing: false,
            failures_reported: 0,
        }
    }

    /// Reports at start-up, without creating anything, a path that can certainly not be
    /// written (see [`check_path`]). The file itself is opened, and created with its
    /// directories, for the first line only.
    pub(super) fn check_early(&mut self, now: Instant) {
        if let Err(error) = check_path(&self.path) {
            self.fail("open", &error, now);
        }
    }

    /// How many failures were reported so far.
    pub(super) fn failures_reported(&self) -> u64 {
        self.failures_reported
    }

    /// Writes one line (ending in `\n`). Returns whether it was written.
    pub(super) fn write_line(&mut self, line: &[u8], now: Instant) -> bool {
        self.check_replaced(now);
        if !self.ensure_open(now) {
            return false;
        }
        self.rotate_if_full(line.len() as u64, now);
        let Some(log) = self.current.as_mut() else {
            return false;
        };
        match append_whole(&mut log.file, line) {
            Ok(()) => {
                log.size += line.len() as u64;
                if self.failing {
                    self.failing = false;
                    tracing::info!(
                        target: TRACING_TARGET,
                        path = %self.path.display(),
                        "the slow-query log is writable again"
                    );
                }
                true
            }
            Err(error) => {
                self.fail("write", &error, now);
                false
            }
        }
    }

    /// Asks the OS to put what was written on disk.
    pub(super) fn sync(&mut self) {
        if let Some(log) = &self.current {
            // Best effort at shutdown: there is nobody left to tell.
            let _ = log.file.sync_data();
        }
    }

    fn ensure_open(&mut self, now: Instant) -> bool {
        if self.current.is_some() {
            return true;
        }
        if self.open_retry_at.is_some_and(|at| now < at) {
            return false;
        }
        match open_log(&self.path) {
            Ok(log) => {
                self.current = Some(log);
                self.open_retry_at = None;
                self.checked_at = Some(now);
                true
            }
            Err(error) => {
                self.fail("open", &error, now);
                false
            }
        }
    }

    fn check_replaced(&mut self, now: Instant) {
        let Some(log) = &self.current else {
            return;
        };
        if self
            .checked_at
            .is_some_and(|at| now.saturating_duration_since(at) < REOPEN_CHECK_INTERVAL)
        {
            return;
        }
        self.checked_at = Some(now);
        let replaced = match fs::metadata(&self.path) {
            Ok(meta) => identity(&meta) != log.identity || meta.len() < log.size,
            // Gone, or its directory replaced by a file: reopening tells which, and reports.
            Err(_) => true,
        };
        if replaced {
            // Reopen right away: this is no failure, so no retry delay applies.
            self.current = None;
            self.open_retry_at = None;
        }
    }

    fn rotate_if_full(&mut self, incoming: u64, now: Instant) {
        let Some(log) = &self.current else {
            return;
        };
        if self.max_bytes == 0 || log.size == 0 || log.size + incoming <= self.max_bytes {
            return;
        }
        if self.rotate_retry_at.is_some_and(|at| now < at) {
            return;
        }
        match self.shift_backups() {
            Ok(()) => {
                self.rotate_retry_at = None;
                self.rotation_failing = false;
                // The old file is now a backup (or gone): start a new one.
                self.current = None;
                self.ensure_open(now);
            }
            Err(error) => {
                self.rotate_retry_at = Some(now + RETRY_INTERVAL);
                if !self.rotation_failing {
                    self.rotation_failing = true;
                    self.report("rotate", &error);
                }
            }
        }
    }

    fn shift_backups(&self) -> io::Result<()> {
        if self.backups == 0 {
            return ignore_not_found(fs::remove_file(&self.path));
        }
        for n in (1..self.backups).rev() {
            ignore_not_found(fs::rename(self.backup_path(n), self.backup_path(n + 1)))?;
        }
        fs::rename(&self.path, self.backup_path(1))
    }

    fn backup_path(&self, n: usize) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn fail(&mut self, action: &'static str, error: &io::Error, now: Instant) {
        self.current = None;
        self.open_retry_at = Some(now + RETRY_INTERVAL);
        if !self.failing {
            self.failing = true;
            self.report(action, error);
        }
    }

    fn report(&mut self, action: &'static str, error: &io::Error) {
        self.failures_reported += 1;
        tracing::error!(
            target: TRACING_TARGET,
            path = %self.path.display(),
            action,
            error = %error,
            "cannot {action} the slow-query log {}: {error}; slow queries are still counted and \
             logged, their lines are dropped until it works again (retried every {}s)",
            self.path.display(),
            RETRY_INTERVAL.as_secs(),
        );
    }
}

/// Writes `line` whole or not at all, as far as this writer can tell: when a write fails after
/// part of the line got in (a full disk takes what fits), that part is cut off again.
fn append_whole(file: &mut File, line: &[u8]) -> io::Result<()> {
    let (written, error) = match write_counted(file, line) {
        Ok(()) => return Ok(()),
        Err(failed) => failed,
    };
    if written > 0 {
        // Best effort: if the cut fails too, reopening ends the torn line with a newline.
        let _ = cut_torn_tail(file, written as u64);
    }
    Err(error)
}

/// `write_all` that says how many bytes got written before it failed.
fn write_counted(writer: &mut impl Write, buf: &[u8]) -> Result<(), (usize, io::Error)> {
    let mut written = 0;
    while written < buf.len() {
        match writer.write(&buf[written..]) {
            Ok(0) => return Err((written, io::Error::from(ErrorKind::WriteZero))),
            Ok(n) => written += n,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err((written, error)),
        }
    }
    Ok(())
}

/// Removes the last `torn` bytes this handle appended, unless something was appended after
/// them (another process writing to the same path): then they are left for the newline that
/// reopening adds.
fn cut_torn_tail(file: &mut File, torn: u64) -> io::Result<()> {
    // In append mode the offset is the end of this handle's last write.
    let end = file.stream_position()?;
    if file.metadata()?.len() != end {
        return Ok(());
    }
    match end.checked_sub(torn) {
        Some(start) => file.set_len(start),
        None => Ok(()),
    }
}

fn ignore_not_found(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Whether `path` can be written, as far as looking tells without creating anything: it must
/// not be a directory, nothing on the way to it may be a regular file, and a file already there
/// must open for appending. What only creating tells (permission to create the file or a
/// missing directory, a full disk) shows with the first line.
fn check_path(path: &Path) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(io::Error::new(
            ErrorKind::IsADirectory,
            "the path is a directory",
        )),
        Ok(_) => OpenOptions::new().append(true).open(path).map(drop),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

fn open_log(path: &Path) -> io::Result<OpenLog> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    // Reading lets us repair a partial last line; a write-only file is still usable.
    let (mut file, readable) = match options.clone().read(true).open(path) {
        Ok(file) => (file, true),
        Err(error) if error.kind() == ErrorKind::PermissionDenied => (options.open(path)?, false),
        Err(error) => return Err(error),
    };
    let meta = file.metadata()?;
    let mut size = meta.len();
    if readable && size > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        if last != *b"\n" {
            file.write_all(b"\n")?;
            size += 1;
        }
    }
    Ok(OpenLog {
        file,
        size,
        identity: identity(&meta),
    })
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    Some(FileIdentity {
        device: meta.dev(),
        inode: meta.ino(),
    })
}

/// Elsewhere only a vanished or shrunk file is noticed.
#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> Option<FileIdentity> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn rotates_by_size_keeping_n_backups() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested/dir/slow.log");
        let mut writer = LogWriter::new(path.clone(), 20, 2);
        let now = Instant::now();
        for i in 0..10 {
            assert!(writer.write_line(format!("line {i:02} ....\n").as_bytes(), now));
        }
        assert_eq!(lines(&path), ["line 09 ...."]);
        assert_eq!(lines(&writer.backup_path(1)), ["line 08 ...."]);
        assert_eq!(lines(&writer.backup_path(2)), ["line 07 ...."]);
        assert!(!writer.backup_path(3).exists());
        Ok(())
    }

    #[test]
    fn no_backups_means_starting_afresh() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("slow.log");
        let mut writer = LogWriter::new(path.clone(), 30, 0);
        let now = Instant::now();
        for i in 0..5 {
            assert!(writer.write_line(format!("line {i} ......\n").as_bytes(), now));
        }
        assert_eq!(lines(&path), ["line 4 ......"]);
        assert!(!writer.backup_path(1).exists());
        Ok(())
    }

    #[test]
    fn a_partial_last_line_is_ended_on_open() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("slow.log");
        fs::write(&path, "{\"complete\":1}\n{\"torn\":")?;
        let mut writer = LogWriter::new(path.clone(), 0, 1);
        assert!(writer.write_line(b"{\"next\":2}\n", Instant::now()));
        assert_eq!(
            lines(&path),
            ["{\"complete\":1}", "{\"torn\":", "{\"next\":2}"]
        );
        Ok(())
    }

    /// Takes `room` bytes, then fails as a full disk does.
    struct FullDisk {
        room: usize,
        taken: Vec<u8>,
        interrupted: bool,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.room - self.taken.len());
            if n == 0 {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_short_write_reports_what_got_in() {
        let mut disk = FullDisk {
            room: 5,
            taken: Vec::new(),
            interrupted: false,
        };
        let Err((written, error)) = write_counted(&mut disk, b"{\"line\":1}\n") else {
            panic!("a full disk must fail the write");
        };
        assert_eq!(written, 5);
        assert_eq!(error.raw_os_error(), Some(28));
        assert_eq!(disk.taken, b"{\"lin");
        let mut roomy = FullDisk {
            room: 100,
            taken: Vec::new(),
            interrupted: false,
        };
        assert!(write_counted(&mut roomy, b"whole\n").is_ok());
        assert_eq!(roomy.taken, b"whole\n");
    }

    #[test]
    fn a_torn_tail_is_cut_unless_something_follows() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("slow.log");
        fs::write(&path, "{\"complete\":1}\n")?;
        let mut file = OpenOptions::new().append(true).open(&path)?;
        file.write_all(b"{\"torn\":")?;
        cut_torn_tail(&mut file, 8)?;
        assert_eq!(fs::read_to_string(&path)?, "{\"complete\":1}\n");

        // Another process appended after the torn part: cutting would take its line too.
        file.write_all(b"{\"torn\":")?;
        let mut other = OpenOptions::new().append(true).open(&path)?;
        other.write_all(b"{\"other\":2}\n")?;
        cut_torn_tail(&mut file, 8)?;
        assert_eq!(
            fs::read_to_string(&path)?,
            "{\"complete\":1}\n{\"torn\":{\"other\":2}\n"
        );
        Ok(())
    }

    #[test]
    fn survives_move_and_create_and_copytruncate() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("slow.log");
        let moved = dir.path().join("slow.log.moved");
        let mut writer = LogWriter::new(path.clone(), 0, 1);
        let start = Instant::now();
        assert!(writer.write_line(b"a\n", start));
        fs::rename(&path, &moved)?;
        // Within the check interval the old file still gets lines.
        assert!(writer.write_line(b"b\n", start + Duration::from_millis(10)));
        assert!(writer.write_line(b"c\n", start + REOPEN_CHECK_INTERVAL * 2));
        assert_eq!(lines(&moved), ["a", "b"]);
        assert_eq!(lines(&path), ["c"]);
        // copytruncate
        fs::copy(&path, &moved)?;
        File::create(&path)?;
        assert!(writer.write_line(b"d\n", start + REOPEN_CHECK_INTERVAL * 4));
        assert_eq!(lines(&path), ["d"]);
        // The whole directory removed.
        fs::remove_dir_all(dir.path())?;
        assert!(writer.write_line(b"e\n", start + REOPEN_CHECK_INTERVAL * 6));
        assert_eq!(lines(&path), ["e"]);
        assert_eq!(writer.failures_reported(), 0);
        Ok(())
    }

    #[test]
    fn failures_are_reported_once_and_retried() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, "")?;
        let path = blocker.join("slow.log");
        let mut writer = LogWriter::new(path.clone(), 0, 1);
        let start = Instant::now();
        writer.check_early(start);
        assert_eq!(writer.failures_reported(), 1);
        for ms in 0..100 {
            assert!(!writer.write_line(b"x\n", start + Duration::from_millis(ms * 100)));
        }
        assert_eq!(writer.failures_reported(), 1);
        // Fixed: the next retry succeeds, and a new failure is reported anew.
        fs::remove_file(&blocker)?;
        assert!(writer.write_line(b"y\n", start + RETRY_INTERVAL * 3));
        assert_eq!(lines(&path), ["y"]);
        fs::remove_dir_all(&blocker)?;
        fs::write(&blocker, "")?;
        let later = start + RETRY_INTERVAL * 4;
        assert!(!writer.write_line(b"z\n", later));
        assert_eq!(writer.failures_reported(), 2);
        Ok(())
    }

    #[test]
    fn nothing_is_created_before_the_first_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let logs = dir.path().join("logs");
        let path = logs.join("slow.log");
        let mut writer = LogWriter::new(path.clone(), 0, 1);
        let now = Instant::now();
        writer.check_early(now);
        writer.sync();
        assert!(!logs.exists());
        assert_eq!(writer.failures_reported(), 0);
        assert!(writer.write_line(b"first\n", now));
        assert_eq!(lines(&path), ["first"]);

        // A file already there is checked by opening it, and left as it was.
        fs::write(&path, "kept\n")?;
        let mut writer = LogWriter::new(path.clone(), 0, 1);
        writer.check_early(now);
        assert_eq!(writer.failures_reported(), 0);
        assert_eq!(fs::read_to_string(&path)?, "kept\n");
        Ok(())
    }

    #[test]
    fn a_directory_as_the_path_fails_cleanly() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut writer = LogWriter::new(dir.path().to_path_buf(), 0, 1);
        let now = Instant::now();
        writer.check_early(now);
        assert_eq!(writer.failures_reported(), 1);
        // Reported at start-up, not again for the lines that fail after it.
        assert!(!writer.write_line(b"x\n", now + RETRY_INTERVAL));
        assert!(!writer.write_line(b"x\n", now + RETRY_INTERVAL * 2));
        assert_eq!(writer.failures_reported(), 1);

        let mut writer = LogWriter::new(dir.path().to_path_buf(), 0, 1);
        assert!(!writer.write_line(b"x\n", Instant::now()));
        assert!(!writer.write_line(b"x\n", Instant::now()));
        assert_eq!(writer.failures_reported(), 1);
        Ok(())
    }
}
