//! A buffer that rendered text is written into in place.

/// Text rendered into memory that stays allocated and initialized from
/// one use to the next: a writer gets writable room after the text and
/// fills it straight (a line's head was built in a stack buffer, zeroed
/// and then copied, for each of millions of lines), and clearing keeps
/// the room for the next window of sessions.
#[derive(Debug, Default, Clone)]
pub struct TextBuf {
    /// Initialized bytes; the text is the first `len`.
    bytes: Vec<u8>,
    len: usize,
}

impl TextBuf {
    /// The text written.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// Forget the text, keep the room.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// `n` writable bytes after the text (grown when short: doubled, so
    /// that a buffer reused window after window stops growing soon).
    pub fn room(&mut self, n: usize) -> &mut [u8] {
        let end = self.len.saturating_add(n);
        if self.bytes.len() < end {
            let grown = end.max(self.bytes.len().saturating_mul(2)).max(4096);
            self.bytes.resize(grown, 0);
        }
        self.bytes.get_mut(self.len..end).unwrap_or_default()
    }

    /// Add the first `n` bytes of the room to the text.
    pub fn commit(&mut self, n: usize) {
        self.len = self.len.saturating_add(n).min(self.bytes.len());
    }

    /// Append `s`.
    pub fn extend(&mut self, s: &[u8]) {
        let room = self.room(s.len());
        if room.len() == s.len() {
            room.copy_from_slice(s);
            self.commit(s.len());
        }
    }
}

impl std::io::Write for TextBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.extend(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Text appended in pieces, through room and commit, and by `write!`,
    /// reads back whole; clearing keeps the room and starts over.
    #[test]
    fn appends_and_reuses_its_room() {
        let mut b = TextBuf::default();
        b.extend(b"abc");
        let room = b.room(5000);
        assert_eq!(room.len(), 5000);
        room[..2].copy_from_slice(b"de");
        b.commit(2);
        write!(b, "-{}", 42).unwrap();
        assert_eq!(b.as_slice(), b"abcde-42");
        let cap = b.bytes.len();
        assert!(cap >= 5003);
        b.clear();
        assert_eq!(b.as_slice(), b"");
        b.extend(b"x");
        assert_eq!(b.as_slice(), b"x");
        assert_eq!(b.bytes.len(), cap);
        b.commit(usize::MAX);
        assert_eq!(b.as_slice().len(), cap);
    }
}
