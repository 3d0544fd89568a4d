//! The bytes of an input and how a file's are got: mapped, or read when
//! they cannot be. Apart from `source` so that a blob's cached copy
//! (`blob`) is opened the same way without the two importing each other.

use memmap2::Mmap;
use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// The bytes of one input: memory-mapped, or owned when they had to be read
/// (stdin, gunzipped data, files that cannot be mapped).
pub enum Bytes {
    /// A read-only mapping of the file.
    Mapped(Mmap),
    /// Bytes read into memory.
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

/// A file's bytes: mapped, or read when it cannot be mapped.
pub(super) fn map_file(p: &Path) -> std::io::Result<Bytes> {
    let file = File::open(p)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Bytes::Owned(Vec::new()));
    }
    // SAFETY: the mapping is read-only. A file truncated by another
    // process while mapped can raise SIGBUS; captures and flow logs
    // handed to aibnet are finished downloads (cache entries are written
    // whole, then renamed), and reading them without copying is what makes
    // large files fast.
    match unsafe { Mmap::map(&file) } {
        Ok(m) => Ok(Bytes::Mapped(m)),
        Err(_) => {
            let mut v = Vec::new();
            (&file).read_to_end(&mut v)?;
            Ok(Bytes::Owned(v))
        }
    }
}
