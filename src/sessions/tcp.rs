//! TCP endpoint tracking, following the state machine Zeek's TCP analyzer
//! runs for each side of a connection, so that `conn_state` and `history`
//! mean exactly what support engineers know from Zeek's conn.log.

use super::gaps::{DataContext, GapTrack};
use super::state::{ConnState, History};
use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};

/// The state of one side of a TCP connection (Zeek's TCP_ENDPOINT_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Ep {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// One side of a TCP connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Endpoint {
    pub state: Ep,
    pub prev_state: Ep,
    /// Sequence number of the (possibly assumed) SYN.
    start_seq: u32,
    /// One past the highest sequence number sent.
    last_seq: u32,
    /// Highest acknowledgement the peer sent for this side's data.
    ack_seq: u32,
    fin_cnt: u32,
    pub did_close: bool,
    /// Sequence numbers of the last SYN, FIN and RST (by [`LAST_SYN`] ...),
    /// valid where `last_set` has the bit: three `Option<u32>`s cost 12
    /// more bytes in every open TCP connection.
    last: [u32; 3],
    last_set: u8,
    rxmit: u32,
    rxmit_threshold: u32,
    /// Times the 32-bit sequence (`last_seq`) and acknowledgement
    /// (`ack_seq`) numbers wrapped: Zeek's `seq_wraps`, `ack_wraps`, for
    /// 64-bit relative sequence numbers.
    seq_wraps: u32,
    ack_wraps: u32,
    /// What of this side's data the capture showed: its content gaps.
    pub gap: GapTrack,
}

const LAST_SYN: usize = 0;
const LAST_FIN: usize = 1;
const LAST_RST: usize = 2;

impl Endpoint {
    /// The sequence number of the last SYN, FIN or RST, if one was seen.
    fn last(&self, kind: usize) -> Option<u32> {
        if self.last_set & (1 << kind) == 0 {
            return None;
        }
        self.last.get(kind).copied()
    }

    fn set_last(&mut self, kind: usize, seq: u32) {
        if let Some(slot) = self.last.get_mut(kind) {
            *slot = seq;
            self.last_set |= 1 << kind;
        }
    }
}

#[inline]
fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Beyond this, a SYN or RST sequence number is not trusted (Zeek's
/// TOO_LARGE_SEQ_DELTA).
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

impl Endpoint {
    fn set_state(&mut self, s: Ep) {
        self.prev_state = self.state;
        self.state = s;
    }

    fn init_seqs(&mut self, start: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = start;
        self.last_seq = last;
    }

    /// Payload bytes this side sent, from the sequence space it covered (or
    /// what the peer acknowledged, when packets were missed): Zeek's `size`.
    pub fn size(&self) -> u64 {
        let top = if seq_delta(self.ack_seq, self.last_seq) > 0 {
            self.ack_seq
        } else {
            self.last_seq
        };
        let mut size = u64::from(top.wrapping_sub(self.start_seq));
        // Don't count the SYN octet, nor the FIN octet.
        size = size.saturating_sub(1);
        if self.fin_cnt > 0 && size > 0 {
            size -= 1;
        }
        size
    }

    fn inactive_or_partial(&self) -> bool {
        matches!(self.state, Ep::Inactive | Ep::Partial)
    }

    /// Zeek's `is_clean`: established, or closed after being established.
    fn is_clean(&self) -> bool {
        self.state == Ep::Established
            || (self.state == Ep::Closed && self.prev_state == Ep::Established)
    }

    /// A new `last_seq` (Zeek's `UpdateLastSeq`: a smaller number is a wrap).
    fn update_last_seq(&mut self, seq: u32) {
        if seq < self.last_seq {
            self.seq_wraps = self.seq_wraps.wrapping_add(1);
        }
        self.last_seq = seq;
    }

    /// A new `ack_seq` (Zeek's `UpdateAckSeq`).
    fn update_ack_seq(&mut self, seq: u32) {
        if seq < self.ack_seq {
            self.ack_wraps = self.ack_wraps.wrapping_add(1);
        }
        self.ack_seq = seq;
    }

    /// Zeek's `get_relative_seq`: `cur` as a 64-bit sequence number relative
    /// to this side's start, given the last number seen of its kind and the
    /// wraps counted so far; and whether it lies below the start.
    fn relative(&self, cur: u32, last: u32, mut wraps: u32) -> (u64, bool) {
        let d = seq_delta(cur, last);
        if d < 0 {
            if wraps > 0 && cur > last {
                wraps -= 1;
            }
        } else if d > 0 && cur < last {
            wraps = wraps.wrapping_add(1);
        }
        if wraps == 0 {
            let d = seq_delta(cur, self.start_seq);
            return (d as i64 as u64, d < 0);
        }
        let full = (u64::from(wraps) << 32) | u64::from(cur);
        (full.wrapping_sub(u64::from(self.start_seq)), false)
    }

    /// The peer's highest acknowledgement of this side, relative (Zeek's
    /// `ToRelativeSeqSpace(AckSeq(), AckWraps())`).
    fn acked(&self) -> u64 {
        ((u64::from(self.ack_wraps) << 32) | u64::from(self.ack_seq))
            .wrapping_sub(u64::from(self.start_seq))
    }

    /// Zeek's `NoDataAcked`: the peer acknowledged at most the SYN.
    fn no_data_acked(&self) -> bool {
        self.ack_wraps == 0
            && (self.ack_seq == self.start_seq || self.ack_seq == self.start_seq.wrapping_add(1))
    }
}

/// Both sides of a TCP connection and the history bookkeeping.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TcpTrack {
    pub orig: Endpoint,
    pub resp: Endpoint,
    /// Which history kinds were already recorded (resp bits shifted by 16).
    hist_seen: u32,
    /// A FIN or RST completed the close (Zeek's `close_complete` in
    /// `TCPSessionAdapter::ConnectionClosed`): after a RST, after the second
    /// FIN, or after a FIN or RST while the peer had sent nothing at all.
    close_complete: bool,
    /// Zeek's `is_partial`: the originator's first packet was not a pure
    /// SYN, or the responder's first was not a SYN.
    partial: bool,
    /// Which sides have sent a packet (bit 0 originator, bit 1 responder),
    /// for `partial`.
    first_seen: u8,
    /// A data segment's payload was cut by the snap length: its gaps may be
    /// the capture's choice, not lost packets.
    pub payload_cut: bool,
}

const HIST_SYN: u32 = 1 << 0;
const HIST_FIN: u32 = 1 << 1;
const HIST_RST: u32 = 1 << 2;
const HIST_DATA: u32 = 1 << 3;
const HIST_ACK: u32 = 1 << 4;
const HIST_FIN_RST: u32 = 1 << 5;
const HIST_MULTI: u32 = 1 << 6;

/// What a packet did to the connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Effect {
    /// The packet was a retransmitted SYN of an unanswered attempt.
    pub syn_retransmit: bool,
    /// The roles were flipped (SYN / SYN-ACK reversal, or a connection
    /// first seen at its SYN-ACK at its first data or pure ACK).
    pub flipped: bool,
}

impl TcpTrack {
    fn check_history(&mut self, hist: &mut History, is_orig: bool, mask: u32, code: u8) -> bool {
        let mask = if is_orig { mask } else { mask << 16 };
        if self.hist_seen & mask == 0 {
            self.hist_seen |= mask;
            hist.push(letter(code, is_orig));
            false
        } else {
            true
        }
    }

    /// Swap the roles of the two sides (the history keeps its letters).
    pub fn flip(&mut self) {
        std::mem::swap(&mut self.orig, &mut self.resp);
        self.hist_seen = self.hist_seen.rotate_left(16);
    }

    /// Whether the connection is over, so that a new SYN on the same ports
    /// starts a new session (port reuse).
    pub fn terminated(&self) -> bool {
        self.close_complete
            || self.orig.state == Ep::Reset
            || self.resp.state == Ep::Reset
            || (self.orig.state == Ep::Closed && self.resp.state == Ep::Closed)
    }

    /// Whether the connection so far is one unanswered attempt.
    pub fn is_attempt(&self) -> bool {
        matches!(self.orig.state, Ep::SynSent | Ep::SynAckSent) && self.resp.state == Ep::Inactive
    }

    /// Feed one packet (`captured`: its payload is in the capture in full).
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        &mut self,
        hist: &mut History,
        mut is_orig: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        len: u32,
        captured: bool,
    ) -> Effect {
        let mut effect = Effect::default();
        // SetPartialStatus: from each side's first packet.
        let bit = if is_orig { 1 } else { 2 };
        if self.first_seen & bit == 0 {
            if is_orig {
                self.partial = flags & SYN == 0 || flags & ACK != 0;
            } else if !self.partial {
                self.partial = flags & SYN == 0;
            }
            self.first_seen |= bit;
        }
        let (syn, fin, rst, ackf) = (
            flags & SYN != 0,
            flags & FIN != 0,
            flags & RST != 0,
            flags & ACK != 0,
        );
        if is_orig && syn && !ackf && self.is_attempt() && self.orig.state == Ep::SynSent {
            effect.syn_retransmit = true;
        }
        let len_i = len as i64;
        let mut seg_len = len_i + i64::from(syn) + i64::from(fin);
        if rst {
            seg_len -= len_i;
        }
        let seg_end = seq.wrapping_add(seg_len as u32);

        // init_endpoint
        {
            let ep = self.side(is_orig);
            match ep.state {
                Ep::Inactive => {
                    if syn {
                        ep.init_seqs(seq, seg_end);
                    } else {
                        // Partial connection: number as though a SYN came first.
                        ep.init_seqs(seq.wrapping_sub(1), seq);
                    }
                }
                Ep::SynSent | Ep::SynAckSent => {
                    if syn && seq != ep.start_seq {
                        ep.init_seqs(seq, seg_end);
                    }
                }
                Ep::Established | Ep::Partial => {
                    if syn {
                        ep.init_seqs(seq, seg_end);
                    }
                }
                Ep::Reset => {
                    if syn && ep.prev_state == Ep::Inactive {
                        ep.init_seqs(seq, seg_end);
                    }
                }
                Ep::Closed => {}
            }
        }
        let rel_seq = seq.wrapping_sub(self.side(is_orig).start_seq);
        let (rel_seq64, seq_underflow) = {
            let ep = self.side(is_orig);
            ep.relative(seq, ep.last_seq, ep.seq_wraps)
        };

        // update_history
        let bits = u8::from(syn) + u8::from(fin) + u8::from(rst);
        if bits > 1 {
            if fin && rst {
                self.check_history(hist, is_orig, HIST_FIN_RST, b'I');
            } else {
                self.check_history(hist, is_orig, HIST_MULTI, b'Q');
            }
        } else if bits == 1 {
            if syn {
                let code = if ackf { b'H' } else { b'S' };
                let last = self.side(is_orig).last(LAST_SYN);
                if self.check_history(hist, is_orig, HIST_SYN, code) && last != Some(rel_seq) {
                    hist.push(letter(code, is_orig));
                }
                self.side(is_orig).set_last(LAST_SYN, rel_seq);
            }
            if fin {
                let at = rel_seq.wrapping_add(len);
                let last = self.side(is_orig).last(LAST_FIN);
                if self.check_history(hist, is_orig, HIST_FIN, b'F') && last != Some(at) {
                    hist.push(letter(b'F', is_orig));
                }
                self.side(is_orig).set_last(LAST_FIN, at);
            }
            if rst {
                let last = self.side(is_orig).last(LAST_RST);
                if self.check_history(hist, is_orig, HIST_RST, b'R') && last != Some(rel_seq) {
                    hist.push(letter(b'R', is_orig));
                }
                self.side(is_orig).set_last(LAST_RST, rel_seq);
            }
        } else if len > 0 || ackf {
            if hist.as_str() == "H" {
                // Zeek's `TCP_Endpoint::CheckHistory`: a connection first
                // seen at a SYN-ACK that no port rule flipped is flipped at
                // its first data or pure ACK (from either side), its history
                // rewritten to `^h`; the packet's letter then follows in the
                // new orientation.
                self.flip();
                hist.set(b"^h");
                effect.flipped = true;
                is_orig = !is_orig;
            }
            let (mask, code) = if len > 0 {
                (HIST_DATA, b'D')
            } else {
                (HIST_ACK, b'A')
            };
            self.check_history(hist, is_orig, mask, code);
        }

        if fin {
            let ep = self.side(is_orig);
            ep.fin_cnt += 1;
            ep.gap.fin_seq = rel_seq64.wrapping_add(seg_len as u64);
        }

        // Acknowledgements move the peer's ack_seq (never trusted on RSTs).
        let mut rel_ack = 0;
        if ackf {
            let peer = self.side(!is_orig);
            if peer.state == Ep::Inactive {
                rel_ack = 1;
                peer.init_seqs(ack.wrapping_sub(1), ack.wrapping_sub(1));
            } else {
                let (r, underflow) = peer.relative(ack, peer.ack_seq, peer.ack_wraps);
                if !underflow {
                    rel_ack = r;
                    if !rst
                        && seq_delta(ack, peer.ack_seq) > 0
                        && !(ack == 0 && seq_delta(ack, peer.ack_seq) > TOO_LARGE_SEQ_DELTA)
                    {
                        peer.update_ack_seq(ack);
                    }
                }
            }
        }

        // update_last_seq
        let delta_last = {
            let ep = self.side(is_orig);
            let d = seq_delta(seg_end, ep.last_seq);
            if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&d) {
                // Outlandish SYN/RST sequence numbers are not trusted.
            } else if fin && ep.last_seq == ep.start_seq.wrapping_add(1) {
                ep.update_last_seq(seg_end);
            } else if ep.state == Ep::Reset {
            } else if d > 0 {
                ep.update_last_seq(seg_end);
            } else if len > 0 {
                // Retransmitted data: 'T' at the 1st, 10th, 100th ... time.
                ep.rxmit += 1;
                if ep.rxmit_threshold == 0 {
                    ep.rxmit_threshold = 1;
                }
                if ep.rxmit == ep.rxmit_threshold {
                    ep.rxmit_threshold = ep.rxmit_threshold.saturating_mul(10);
                    hist.push(letter(b'T', is_orig));
                }
            }
            d
        };

        let flipped_before = effect.flipped;
        self.update_state(hist, is_orig, flags, seq, len, delta_last, &mut effect);
        if effect.flipped && !flipped_before {
            // The SYN / SYN-ACK reversal made this packet's sender the
            // originator.
            is_orig = !is_orig;
        }
        // A RST's payload is never content (Zeek does not deliver it).
        self.payload_cut |= len > 0 && !captured && !rst;
        self.content(
            hist,
            is_orig,
            flags,
            rel_seq64,
            rel_ack,
            len,
            captured && !seq_underflow,
        );
        effect
    }

    /// Content gaps (Zeek's `Process` after the state machine): this
    /// packet's ACK reveals what the peer sent that the capture missed, then
    /// its own data, if captured in full, is recorded.
    #[allow(clippy::too_many_arguments)]
    fn content(
        &mut self,
        hist: &mut History,
        is_orig: bool,
        flags: u8,
        rel_seq: u64,
        rel_ack: u64,
        len: u32,
        seen: bool,
    ) {
        let established = self.orig.is_clean() && self.resp.is_clean();
        let partial = self.partial;
        if flags & ACK != 0 {
            let peer = self.side(!is_orig);
            let fin_cnt = peer.fin_cnt;
            if peer.gap.ack(rel_ack, fin_cnt, established, partial) {
                hist.push(letter(b'G', !is_orig));
            }
        }
        if len > 0 && seen && flags & RST == 0 {
            let data_seq = rel_seq.wrapping_add(u64::from(flags & SYN != 0));
            let ep = self.side(is_orig);
            let cx = DataContext {
                acked: ep.acked(),
                no_data_acked: ep.no_data_acked(),
                size: ep.size(),
            };
            ep.gap.data(data_seq, u64::from(len), &cx);
        }
    }

    fn side(&mut self, is_orig: bool) -> &mut Endpoint {
        if is_orig {
            &mut self.orig
        } else {
            &mut self.resp
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_state(
        &mut self,
        hist: &mut History,
        is_orig: bool,
        flags: u8,
        seq: u32,
        len: u32,
        delta_last: i32,
        effect: &mut Effect,
    ) {
        let (syn, fin, rst, ackf) = (
            flags & SYN != 0,
            flags & FIN != 0,
            flags & RST != 0,
            flags & ACK != 0,
        );
        let state = self.side(is_orig).state;
        let mut do_close = false;
        match state {
            Ep::Inactive => {
                if syn {
                    if is_orig {
                        let s = if ackf { Ep::SynAckSent } else { Ep::SynSent };
                        self.side(true).set_state(s);
                    } else {
                        let peer_state = self.orig.state;
                        let mut flipped_now = false;
                        if !ackf && peer_state == Ep::SynAckSent && seq == self.resp.start_seq {
                            // SYN / SYN-ACK reversal: the "originator" sent the
                            // SYN-ACK. Flip the roles and establish.
                            self.flip();
                            hist.push(b'^');
                            effect.flipped = true;
                            flipped_now = true;
                            self.resp.set_state(Ep::Established);
                        }
                        if flipped_now {
                            // After the flip this packet's sender is the originator.
                            self.orig.set_state(Ep::Established);
                            return;
                        }
                        if self.orig.state == Ep::SynSent {
                            self.orig.set_state(Ep::Established);
                        }
                        self.resp.set_state(Ep::Established);
                    }
                }
                if fin {
                    self.side(is_orig).set_state(Ep::Closed);
                    do_close = true;
                }
                if rst {
                    self.side(is_orig).set_state(Ep::Reset);
                    do_close = true;
                }
                if self.side(is_orig).state == Ep::Inactive {
                    let orig_state = self.orig.state;
                    let peer_state = self.side(!is_orig).state;
                    if !is_orig && len == 0 && orig_state == Ep::SynSent {
                        // Some stacks ACK a SYN before sending their SYN-ACK:
                        // not a partial connection.
                    } else if ackf && peer_state == Ep::Established {
                        // Missed the SYN, saw the SYN-ACK, now an ACK.
                        self.side(is_orig).set_state(Ep::Established);
                    } else {
                        self.side(is_orig).set_state(Ep::Partial);
                    }
                }
            }
            Ep::SynSent | Ep::SynAckSent => {
                if fin {
                    self.side(is_orig).set_state(Ep::Closed);
                    do_close = true;
                }
                if rst {
                    self.side(is_orig).set_state(Ep::Reset);
                    do_close = true;
                }
            }
            Ep::Established | Ep::Partial => {
                if syn && state == Ep::Partial && self.side(!is_orig).state == Ep::Inactive && !ackf
                {
                    self.side(is_orig).set_state(Ep::SynSent);
                }
                if fin && !rst {
                    self.side(is_orig).set_state(Ep::Closed);
                    let peer = self.side(!is_orig);
                    if peer.state == Ep::Reset && peer.prev_state == Ep::Closed {
                        // The peer sent a FIN then a RST: a normal close.
                        peer.set_state(Ep::Closed);
                    }
                    do_close = true;
                }
                if rst {
                    self.side(is_orig).set_state(Ep::Reset);
                    do_close = true;
                }
            }
            Ep::Closed => {
                let _ = delta_last;
                if rst && self.side(!is_orig).state != Ep::Closed {
                    let ep = self.side(is_orig);
                    ep.set_state(Ep::Reset);
                    if !ep.did_close {
                        do_close = true;
                    }
                }
            }
            Ep::Reset => {}
        }
        if do_close {
            // Zeek's ConnectionClosed: a peer still INACTIVE (not PARTIAL)
            // completes the close too; its connection then ends
            // `tcp_close_delay` later and later packets start a new one.
            let peer = self.side(!is_orig);
            let complete = peer.did_close
                || peer.state == Ep::Inactive
                || self.side(is_orig).state == Ep::Reset;
            self.close_complete |= complete;
            self.side(is_orig).did_close = true;
        }
    }

    /// Zeek's `conn_state` for the connection as it stands.
    pub fn conn_state(&self, history: &History) -> ConnState {
        let (os, rs) = (self.orig.state, self.resp.state);
        let o_inactive = self.orig.inactive_or_partial();
        let r_inactive = self.resp.inactive_or_partial();
        if rs == Ep::Reset {
            if matches!(os, Ep::SynSent | Ep::SynAckSent)
                || (os == Ep::Reset && self.orig.size() == 0 && self.resp.size() == 0)
            {
                ConnState::REJ
            } else if o_inactive {
                ConnState::RSTRH
            } else {
                ConnState::RSTR
            }
        } else if os == Ep::Reset {
            if r_inactive {
                if rsto_s0(history.as_str()) {
                    ConnState::RSTOS0
                } else {
                    ConnState::OTH
                }
            } else {
                ConnState::RSTO
            }
        } else if rs == Ep::Closed && os == Ep::Closed {
            ConnState::SF
        } else if os == Ep::Closed {
            if r_inactive {
                ConnState::SH
            } else {
                ConnState::S2
            }
        } else if rs == Ep::Closed {
            if o_inactive {
                ConnState::SHR
            } else {
                ConnState::S3
            }
        } else if os == Ep::SynSent && rs == Ep::Inactive {
            ConnState::S0
        } else if os == Ep::Established && rs == Ep::Established {
            ConnState::S1
        } else {
            ConnState::OTH
        }
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/`: a SYN, then a RST before any handshake, ACK,
/// FIN, gap or multi-flag packet from the originator.
fn rsto_s0(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

#[inline]
fn letter(code: u8, is_orig: bool) -> u8 {
    if is_orig {
        code.to_ascii_uppercase()
    } else {
        code.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pkts: &[(bool, u8, u32, u32, u32)]) -> (ConnState, String) {
        let mut t = TcpTrack::default();
        let mut h = History::new();
        for &(o, f, s, a, l) in pkts {
            t.packet(&mut h, o, f, s, a, l, true);
        }
        (t.conn_state(&h), h.as_str().to_string())
    }

    #[test]
    fn handshake_data_and_close_is_sf() {
        let (st, h) = run(&[
            (true, SYN, 100, 0, 0),
            (false, SYN | ACK, 500, 101, 0),
            (true, ACK, 101, 501, 0),
            (true, ACK, 101, 501, 10),
            (false, ACK, 501, 111, 20),
            (true, FIN | ACK, 111, 521, 0),
            (false, FIN | ACK, 521, 112, 0),
            (true, ACK, 112, 522, 0),
        ]);
        assert_eq!((st, h.as_str()), (ConnState::SF, "ShADdFf"));
    }

    /// First seen at a SYN-ACK between two ports no port rule flips: Zeek
    /// flips at the first ACK or data (`^h`, the client now the
    /// originator; `http-zeek-image-post-1080-8000-x`), not at a RST (a
    /// scan's reply keeps `H`).
    #[test]
    fn syn_ack_first_flips_at_first_ack_or_data() {
        let mut t = TcpTrack::default();
        let mut h = History::new();
        assert!(!t.packet(&mut h, true, SYN | ACK, 500, 101, 0, true).flipped);
        assert!(t.packet(&mut h, false, ACK, 101, 501, 0, true).flipped);
        // From here the client is the originator.
        for (o, f, s, a, l) in [
            (true, ACK, 101, 501, 10),
            (false, ACK, 501, 111, 20),
            (false, FIN | ACK, 521, 111, 0),
            (true, FIN | ACK, 111, 522, 0),
            (false, ACK, 522, 112, 0),
        ] {
            assert!(!t.packet(&mut h, o, f, s, a, l, true).flipped);
        }
        assert_eq!((t.conn_state(&h), h.as_str()), (ConnState::SF, "^hADdfFa"));
        let (_, h) = run(&[(true, SYN | ACK, 500, 101, 0), (false, RST, 101, 0, 0)]);
        assert!(h.starts_with('H'), "{h}");
    }

    /// A FIN whose peer has sent nothing completes the close (the
    /// connection ends after the close delay, `tunnels-Teredo`'s `^fA` then
    /// `Fa`); a peer seen mid-stream (PARTIAL) does not.
    #[test]
    fn fin_with_silent_peer_completes_the_close() {
        let mut t = TcpTrack::default();
        let mut h = History::new();
        t.packet(&mut h, true, FIN | ACK, 100, 500, 0, true);
        assert!(t.terminated());
        let mut t = TcpTrack::default();
        t.packet(&mut h, false, ACK, 500, 100, 10, true);
        t.packet(&mut h, true, FIN | ACK, 100, 510, 0, true);
        assert!(!t.terminated());
    }

    #[test]
    fn rejected_and_unanswered() {
        assert_eq!(
            run(&[(true, SYN, 1, 0, 0), (false, RST | ACK, 0, 2, 0)]),
            (ConnState::REJ, "Sr".into())
        );
        assert_eq!(
            run(&[(true, SYN, 1, 0, 0), (true, SYN, 1, 0, 0)]),
            (ConnState::S0, "S".into())
        );
        assert_eq!(
            run(&[(true, SYN, 1, 0, 0), (true, RST, 2, 0, 0)]),
            (ConnState::RSTOS0, "SR".into())
        );
        assert_eq!(run(&[(true, RST, 1, 0, 0)]), (ConnState::OTH, "R".into()));
    }

    #[test]
    fn rsto_s0_pattern() {
        assert!(rsto_s0("SR"));
        assert!(rsto_s0("^SaR"));
        assert!(!rsto_s0("SaFR"));
        assert!(!rsto_s0("SAR"));
        // The class is case-sensitive: responder letters do not stop the match.
        assert!(rsto_s0("ShR"));
    }
}
