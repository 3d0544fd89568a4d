//! Zeek's connection vocabulary: `conn_state` codes and `history` letters.

use serde::{Serialize, Serializer};

/// Zeek's `conn_state`: one code summarising how a connection went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnState {
    /// Attempt seen, no reply.
    S0,
    /// Established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Attempt rejected (RST in reply to SYN).
    REJ,
    /// Established, originator closed, no reply from the responder to it.
    S2,
    /// Established, responder closed, no reply from the originator to it.
    S3,
    /// Established, originator aborted (RST).
    RSTO,
    /// Established, responder aborted (RST).
    RSTR,
    /// Originator sent a SYN then a RST; no SYN-ACK from the responder.
    RSTOS0,
    /// Responder sent a SYN-ACK then a RST; no SYN from the originator.
    RSTRH,
    /// Originator sent a SYN then a FIN; no SYN-ACK ("half-open").
    SH,
    /// Responder sent a SYN-ACK then a FIN; no SYN from the originator.
    SHR,
    /// No SYN seen, just midstream traffic (or anything else).
    OTH,
}

impl ConnState {
    /// Every state, for parsing filters.
    pub const ALL: [ConnState; 13] = [
        ConnState::S0,
        ConnState::S1,
        ConnState::SF,
        ConnState::REJ,
        ConnState::S2,
        ConnState::S3,
        ConnState::RSTO,
        ConnState::RSTR,
        ConnState::RSTOS0,
        ConnState::RSTRH,
        ConnState::SH,
        ConnState::SHR,
        ConnState::OTH,
    ];

    /// The code as Zeek writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }

    /// Parse a code (case-insensitive).
    pub fn parse(s: &str) -> Option<ConnState> {
        ConnState::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ConnState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Zeek's `history` string: one letter per event kind and direction
/// (originator upper case, responder lower case), `^` when the direction was
/// flipped. Stored inline: a session never allocates for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct History {
    letters: [u8; History::CAP],
    len: u8,
}

impl History {
    /// Letters kept; Zeek's own histories rarely pass 20.
    pub const CAP: usize = 30;

    /// An empty history.
    pub const fn new() -> Self {
        History {
            letters: [0; History::CAP],
            len: 0,
        }
    }

    /// Append a letter (dropped once full).
    pub fn push(&mut self, c: u8) {
        if let Some(slot) = self.letters.get_mut(self.len as usize) {
            *slot = c;
            self.len += 1;
        }
    }

    /// Replace the letters (Zeek's `ReplaceHistory`).
    pub fn set(&mut self, letters: &[u8]) {
        *self = History::new();
        for &c in letters {
            self.push(c);
        }
    }

    /// The letters.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters and '^' are ever pushed.
        let letters = self
            .letters
            .get(..usize::from(self.len))
            .unwrap_or_default();
        std::str::from_utf8(letters).unwrap_or("")
    }
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Serialize for History {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
