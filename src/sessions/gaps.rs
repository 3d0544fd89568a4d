//! Content gaps without reassembly: which of one direction's sequence space
//! the capture showed, and what the peer's acknowledgements say was sent
//! beyond it. Zeek's `TCP_Reassembler` keeps the bytes; this keeps only the
//! intervals, and reports the same holes (Zeek's `Gap`, the `g`/`G` history
//! letters and `missed_bytes`).
//!
//! Zeek's rules, followed here (zeek/zeek at `a13de64f`,
//! `src/analyzer/protocol/tcp/TCP_Reassembler.cc`, `src/Reassem.cc`):
//!
//! * Data enters (`DataSent`) unless it was already acknowledged, or lies
//!   below the highest acknowledgement already processed (`trim_seq`);
//!   whatever now touches the contiguous end (`last_reassem_seq`, relative
//!   sequence 1 at the start) is delivered and moves it.
//! * An acknowledgement from the peer (`AckReceived`, after the state
//!   machine has run on the packet), clipped to the FIN's sequence number
//!   minus one and ignored unless above `trim_seq`, reports every hole below
//!   it (`Undelivered`): from the contiguous end to the first interval above
//!   it, between intervals, and from the last one to the acknowledgement;
//!   then everything below it counts as done.
//! * A hole is a gap (letter and `missed_bytes`) only while both endpoints
//!   are established or cleanly closing (`established_or_cleanly_closing`);
//!   the letter is scaled (1st, 10th, 100th ... hole of a direction), the
//!   bytes are every hole's.
//! * An acknowledgement of at most relative sequence 2 on a partial
//!   connection is ignored (its faked initial sequence numbers).
//! * More than 16 KB waiting above a hole while none of the direction's data
//!   was ever acknowledged (`tcp_max_above_hole_without_any_acks`) stops the
//!   direction's gap reporting for good.
//!
//! Intervals above a hole are few in practice (a lost segment, then what
//! followed it): [`MAX_BLOCKS`] are kept; beyond that the two closest merge,
//! and the hole between them is not reported (fewer gaps, never false ones).

/// Intervals kept above the contiguous end of one direction.
pub(crate) const MAX_BLOCKS: usize = 3;

/// `tcp_max_above_hole_without_any_acks` (Zeek's default, bytes).
const MAX_ABOVE_HOLE_WITHOUT_ACKS: u64 = 16_384;

/// `tcp_max_initial_window` (Zeek's default, bytes).
const MAX_INITIAL_WINDOW: u64 = 16_384;

/// What one direction's data covered, in relative 64-bit sequence numbers
/// (1 is the first byte after the SYN, seen or assumed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GapTrack {
    /// Everything below was seen (or reported missing): Zeek's
    /// `last_reassem_seq`.
    contig: u64,
    /// Highest acknowledgement processed: Zeek's `trim_seq`.
    trim: u64,
    /// Seen intervals `[lo, hi)` above `contig`, sorted, disjoint, not
    /// touching.
    blocks: [(u64, u64); MAX_BLOCKS],
    n_blocks: u8,
    /// Gap reporting stopped (Zeek's `skip_deliveries`).
    skip: bool,
    /// Holes reported while established, and the count at which the next
    /// history letter is written.
    gaps: u32,
    gap_threshold: u32,
    /// Bytes of the holes reported while established.
    pub missed: u64,
    /// Relative sequence number of this direction's FIN (one past it), when
    /// one was seen.
    pub fin_seq: u64,
}

impl Default for GapTrack {
    fn default() -> Self {
        GapTrack {
            contig: 1,
            trim: 1,
            blocks: [(0, 0); MAX_BLOCKS],
            n_blocks: 0,
            skip: false,
            gaps: 0,
            gap_threshold: 1,
            missed: 0,
            fin_seq: 0,
        }
    }
}

/// What the caller knows of this direction's endpoint when its data is
/// seen.
pub(crate) struct DataContext {
    /// The peer's highest acknowledgement of this direction, relative.
    pub acked: u64,
    /// None of this direction's data was acknowledged yet (Zeek's
    /// `NoDataAcked`).
    pub no_data_acked: bool,
    /// This direction's size so far (Zeek's `TCP_Endpoint::Size`).
    pub size: u64,
}

impl GapTrack {
    fn blocks(&self) -> &[(u64, u64)] {
        self.blocks.get(..usize::from(self.n_blocks)).unwrap_or(&[])
    }

    /// Data `[seq, seq + len)` of this direction was captured in full.
    pub fn data(&mut self, seq: u64, len: u64, cx: &DataContext) {
        if self.skip || len == 0 {
            return;
        }
        let mut lo = seq;
        let hi = seq.saturating_add(len);
        // Already acknowledged: delivered before, or trimmed to the ACK.
        if lo < cx.acked {
            if hi <= cx.acked {
                return;
            }
            lo = cx.acked;
        }
        if hi <= self.trim {
            return;
        }
        lo = lo.max(self.trim);
        if hi <= self.contig {
            return;
        }
        if self.n_blocks == 0 && lo <= self.contig {
            // In order (the common case): the contiguous end moves.
            self.contig = hi;
        } else {
            self.insert(lo.max(self.contig), hi);
            self.deliver();
        }
        let undelivered = self.blocks().last().map_or(0, |b| b.1 - self.contig);
        if cx.no_data_acked && undelivered > MAX_ABOVE_HOLE_WITHOUT_ACKS {
            self.n_blocks = 0;
            self.skip = true;
        } else if cx.no_data_acked && cx.size > MAX_INITIAL_WINDOW {
            // Zeek's `BlockInserted`: much sent and nothing acked, so the
            // peer's ACKs are presumed unseen; what was delivered is let go.
            self.trim = self.trim.max(self.contig);
        }
    }

    /// Insert `[lo, hi)` (above `contig`), merging what it overlaps or
    /// touches.
    fn insert(&mut self, mut lo: u64, mut hi: u64) {
        let mut kept = [(0u64, 0u64); MAX_BLOCKS + 1];
        let mut n = 0;
        let mut placed = false;
        for &(a, b) in self.blocks() {
            if b < lo {
                if let Some(k) = kept.get_mut(n) {
                    *k = (a, b);
                    n += 1;
                }
            } else if a > hi {
                if !placed {
                    if let Some(k) = kept.get_mut(n) {
                        *k = (lo, hi);
                        n += 1;
                    }
                    placed = true;
                }
                if let Some(k) = kept.get_mut(n) {
                    *k = (a, b);
                    n += 1;
                }
            } else {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        if !placed && let Some(k) = kept.get_mut(n) {
            *k = (lo, hi);
            n += 1;
        }
        if n > MAX_BLOCKS {
            // Merge the two neighbours with the smallest hole between them.
            let mut best = 0;
            let mut best_hole = u64::MAX;
            for i in 0..n - 1 {
                if let (Some(x), Some(y)) = (kept.get(i), kept.get(i + 1))
                    && y.0 - x.1 < best_hole
                {
                    best_hole = y.0 - x.1;
                    best = i;
                }
            }
            if let Some(y) = kept.get(best + 1).copied()
                && let Some(x) = kept.get_mut(best)
            {
                x.1 = y.1;
            }
            for i in best + 1..n - 1 {
                if let Some(y) = kept.get(i + 1).copied()
                    && let Some(x) = kept.get_mut(i)
                {
                    *x = y;
                }
            }
            n -= 1;
        }
        self.blocks = [(0, 0); MAX_BLOCKS];
        for (slot, b) in self.blocks.iter_mut().zip(kept.iter().take(n)) {
            *slot = *b;
        }
        self.n_blocks = n as u8;
    }

    /// Move the contiguous end over the intervals that now touch it.
    fn deliver(&mut self) {
        let mut drop = 0;
        let mut contig = self.contig;
        for &(a, b) in self.blocks() {
            if a > contig {
                break;
            }
            contig = contig.max(b);
            drop += 1;
        }
        self.contig = contig;
        self.drop_front(drop);
    }

    fn drop_front(&mut self, k: usize) {
        if k == 0 {
            return;
        }
        let n = usize::from(self.n_blocks);
        self.blocks.copy_within(k.min(n)..n, 0);
        self.n_blocks = (n - k.min(n)) as u8;
    }

    /// The peer acknowledged up to `ack` (relative; 0 when the ACK was
    /// below the start). `established` is Zeek's
    /// `established_or_cleanly_closing` for the two endpoints as they are
    /// after this packet; `partial` its `IsPartial`. Returns the history
    /// letter to write, if one is due (the caller cases it).
    pub fn ack(&mut self, mut ack: u64, fin_cnt: u32, established: bool, partial: bool) -> bool {
        if fin_cnt > 0 && ack >= self.fin_seq {
            ack = self.fin_seq.saturating_sub(1);
        }
        if ack <= self.trim {
            return false;
        }
        let mut letter = false;
        if ack > self.contig {
            if ack <= 2 && partial {
                // The faked initial sequence numbers of a partial
                // connection (Zeek leaves `last_reassem_seq` alone).
                self.trim = ack;
                self.drop_acked(ack);
                return false;
            }
            if !self.skip {
                let mut holes = [(0u64, 0u64); MAX_BLOCKS + 1];
                let mut n = 0;
                let mut at = self.contig;
                for &(a, b) in self.blocks() {
                    if a >= ack {
                        break;
                    }
                    if let Some(h) = holes.get_mut(n) {
                        *h = (at, a - at);
                        n += 1;
                    }
                    at = at.max(b);
                }
                if ack > at
                    && let Some(h) = holes.get_mut(n)
                {
                    *h = (at, ack - at);
                    n += 1;
                }
                for &(_, len) in holes.iter().take(n) {
                    if established {
                        letter |= self.gap(len);
                    }
                }
                self.contig = at.max(ack);
            } else {
                self.contig = ack;
            }
        }
        self.trim = ack;
        self.drop_acked(ack);
        self.deliver();
        letter
    }

    /// Drop the intervals wholly below `ack`, and cut the one it falls in.
    fn drop_acked(&mut self, ack: u64) {
        let mut k = 0;
        for &(_, b) in self.blocks() {
            if b <= ack {
                k += 1;
            } else {
                break;
            }
        }
        self.drop_front(k);
        if let Some(first) = self.blocks.first_mut()
            && self.n_blocks > 0
            && first.0 < ack
        {
            first.0 = ack;
        }
    }

    /// One hole of `len` bytes: Zeek's `TCP_Endpoint::Gap` (scaled letter)
    /// and `content_gap` (bytes). Whether a letter is due.
    fn gap(&mut self, len: u64) -> bool {
        self.missed = self.missed.saturating_add(len);
        self.gaps = self.gaps.saturating_add(1);
        if self.gaps == self.gap_threshold {
            match self.gap_threshold.checked_mul(10) {
                Some(t) => self.gap_threshold = t,
                None => self.gaps = 0,
            }
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(acked: u64) -> DataContext {
        DataContext {
            acked,
            no_data_acked: acked <= 1,
            size: 0,
        }
    }

    #[test]
    fn contiguous_data_then_ack_is_no_gap() {
        let mut g = GapTrack::default();
        g.data(1, 100, &cx(1));
        g.data(101, 100, &cx(1));
        assert!(!g.ack(201, 0, true, false));
        assert_eq!(g.missed, 0);
    }

    #[test]
    fn a_lost_segment_acked_is_one_gap() {
        let mut g = GapTrack::default();
        g.data(1, 100, &cx(1));
        g.data(201, 100, &cx(1));
        g.data(301, 100, &cx(1));
        assert!(g.ack(401, 0, true, false));
        assert_eq!(g.missed, 100);
        // A later retransmission of the hole changes nothing.
        g.data(101, 100, &cx(401));
        assert!(!g.ack(401, 0, true, false));
        assert_eq!(g.missed, 100);
    }

    #[test]
    fn retransmission_filling_the_hole_before_the_ack_is_no_gap() {
        let mut g = GapTrack::default();
        g.data(1, 100, &cx(1));
        g.data(201, 100, &cx(1));
        g.data(101, 100, &cx(1));
        assert!(!g.ack(301, 0, true, false));
        assert_eq!(g.missed, 0);
    }

    #[test]
    fn not_established_counts_nothing_but_moves_on() {
        let mut g = GapTrack::default();
        assert!(!g.ack(1001, 0, false, false));
        assert_eq!(g.missed, 0);
        g.data(1001, 10, &cx(1001));
        assert!(!g.ack(1011, 0, true, false));
        assert_eq!(g.missed, 0);
    }

    #[test]
    fn ack_of_a_fin_is_clipped_to_the_data() {
        // 2902 bytes never seen, FIN at 2903 (fin_seq one past it).
        let mut g = GapTrack {
            fin_seq: 2904,
            ..GapTrack::default()
        };
        assert!(g.ack(2904, 1, true, false));
        assert_eq!(g.missed, 2902);
    }

    #[test]
    fn letters_are_scaled_and_bytes_are_not() {
        let mut g = GapTrack::default();
        let mut letters = 0;
        for i in 0..12u64 {
            let base = 1 + i * 200;
            g.data(base + 100, 100, &cx(base));
            letters += u32::from(g.ack(base + 200, 0, true, false));
        }
        assert_eq!((letters, g.missed), (2, 1200));
    }

    #[test]
    fn many_holes_merge_without_false_gaps() {
        let mut g = GapTrack::default();
        for i in 0..6u64 {
            g.data(11 + i * 20, 10, &cx(1));
        }
        assert!(g.ack(131, 0, true, false));
        // At most the six real holes of 10 bytes each, never more.
        assert!(g.missed > 0 && g.missed <= 60, "{}", g.missed);
    }

    #[test]
    fn partial_connection_ignores_its_first_ack() {
        let mut g = GapTrack::default();
        assert!(!g.ack(2, 0, true, true));
        assert_eq!(g.missed, 0);
    }

    #[test]
    fn too_much_above_a_hole_without_acks_stops_reporting() {
        let mut g = GapTrack::default();
        g.data(101, 20_000, &cx(1));
        assert!(!g.ack(30_000, 0, true, false));
        assert_eq!(g.missed, 0);
    }
}
