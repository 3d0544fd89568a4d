//! The `--cache DIR` of downloaded blobs: one file per blob path and ETag,
//! readable by the user only, written to a temporary file and renamed when
//! complete, so that an interrupted run (Ctrl-C) leaves no partial entry.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files start with this, then the writer's process id.
const TMP_PREFIX: &str = ".tmp-";

/// Create the cache folder (user-only), and remove the temporary files
/// that runs which no longer exist left behind.
pub fn prepare(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    for e in fs::read_dir(dir)?.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_file(e.path());
        }
    }
    Ok(())
}

/// FNV-1a, 64 bits: a stable name for a path (no secret is in it: paths
/// are shown without their SAS).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The cache file of a blob at an ETag: hashes of both, and the blob's
/// file name for people looking into the folder.
pub fn entry(dir: &Path, display: &str, etag: &str) -> PathBuf {
    let base: String = display
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(40)
        .collect();
    dir.join(format!("{:016x}-{:016x}-{base}", fnv(display), fnv(etag)))
}

/// A cache entry being written.
pub struct Writer {
    tmp: PathBuf,
    file: Option<File>,
}

impl Writer {
    /// A new temporary file in `dir`, readable by the user only.
    pub fn create(dir: &Path) -> std::io::Result<Writer> {
        static N: AtomicU64 = AtomicU64::new(0);
        let tmp = dir.join(format!(
            "{TMP_PREFIX}{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(&tmp)?;
        Ok(Writer {
            tmp,
            file: Some(file),
        })
    }

    /// Append bytes.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(bytes),
            None => Err(std::io::Error::other("cache entry already committed")),
        }
    }

    /// Make the entry visible under its name, complete.
    pub fn commit(mut self, entry: &Path) -> std::io::Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()?;
        }
        fs::rename(&self.tmp, entry)
    }
}

impl Writer {
    /// Close the file and keep it under its temporary name (a download
    /// read once, then removed by its reader).
    pub fn keep(mut self) -> std::io::Result<PathBuf> {
        // Closed, and no longer removed on drop.
        drop(self.file.take());
        Ok(self.tmp.clone())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Not committed (a failed download): no partial entry stays.
        if self.file.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_appear_whole_and_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c");
        prepare(&cache).unwrap();
        let e = entry(&cache, "az://c/x/PT1H.json", "\"0x8D\"");
        assert!(e.to_str().unwrap().ends_with("-PT1H.json"));
        let mut w = Writer::create(&cache).unwrap();
        w.write(b"abc").unwrap();
        assert!(!e.exists(), "nothing under the entry's name before commit");
        w.commit(&e).unwrap();
        assert_eq!(fs::read(&e).unwrap(), b"abc");
        let w = Writer::create(&cache).unwrap();
        drop(w);
        assert_eq!(
            fs::read_dir(&cache).unwrap().count(),
            1,
            "an abandoned write leaves nothing"
        );
        // A dead process's leftover is removed by the next run.
        fs::write(cache.join(".tmp-999999999-0"), b"partial").unwrap();
        prepare(&cache).unwrap();
        assert_eq!(fs::read_dir(&cache).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
                0o700
            );
            assert_eq!(
                fs::metadata(&e).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_ne!(entry(&cache, "a", "1"), entry(&cache, "a", "2"));
    }
}
