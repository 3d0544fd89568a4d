//! The open flows of a session table: flow key → (session, TCP state).

use super::key::FlowKey;

/// Open flows in an open-addressing table of 16-byte slots (linear probing,
/// at most half full), each holding a flow's 64-bit hash, its session and
/// its TCP state. A lookup is one cache miss, where a hashbrown map of the
/// 48-byte (key, value) entries took two (its control bytes, then the
/// entry); the key itself is checked against the session, which the caller
/// loads next anyway. Entries are never removed: a flow's entry is pointed
/// at its newest session.
#[derive(Debug, Default)]
pub(crate) struct FlowIndex {
    slots: Vec<Slot>,
    len: usize,
    /// 64 − log2(slots).
    shift: u32,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    /// [`EMPTY`] for a free slot.
    session: u32,
    track: u32,
}

const EMPTY: u32 = u32::MAX;
const FREE: Slot = Slot {
    hash: 0,
    session: EMPTY,
    track: 0,
};

impl FlowIndex {
    /// The hash a flow is filed under.
    #[inline]
    pub fn hash(key: &FlowKey) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(key)
    }

    /// Where the search for `h` starts. The top bits of a Fibonacci product
    /// depend on every bit of the hash: the low bits alone would not do, as
    /// they also pick the flow's thread (see [`FlowKey::shard`]).
    #[inline]
    fn start(&self, h: u64) -> usize {
        if self.slots.is_empty() {
            return 0;
        }
        (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Ask for the slot where the search for `h` starts to be brought into
    /// cache (see `SessionTable::add_batch`).
    #[inline]
    pub fn prefetch(&self, h: u64) {
        if let Some(s) = self.slots.get(self.start(h)) {
            prefetch(s);
        }
    }

    /// The session and TCP state of flow `h`: the entry whose session `is`
    /// accepts (the one with the flow's key).
    #[inline]
    pub fn get(&self, h: u64, is: impl Fn(u32) -> bool) -> Option<(u32, u32)> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = self.start(h);
        loop {
            let s = self.slots.get(i)?;
            if s.session == EMPTY {
                return None;
            }
            if s.hash == h && is(s.session) {
                return Some((s.session, s.track));
            }
            i = (i + 1) & mask;
        }
    }

    /// Point flow `h` (the entry whose session `is` accepts, or a new one)
    /// at `session` and `track`.
    pub fn set(&mut self, h: u64, session: u32, track: u32, is: impl Fn(u32) -> bool) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.start(h);
        while let Some(s) = self.slots.get_mut(i) {
            if s.session == EMPTY {
                *s = Slot {
                    hash: h,
                    session,
                    track,
                };
                self.len += 1;
                return;
            }
            if s.hash == h && is(s.session) {
                s.session = session;
                s.track = track;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Double the slots (at least 16) and file every entry again.
    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![FREE; n]);
        self.shift = 64 - n.trailing_zeros();
        let mask = n - 1;
        for e in old.into_iter().filter(|e| e.session != EMPTY) {
            // Entries are distinct flows: the first free slot is theirs.
            let mut i = self.start(e.hash);
            while let Some(s) = self.slots.get_mut(i) {
                if s.session == EMPTY {
                    *s = e;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }
}

/// Ask for the cache lines of `*v` to be loaded, without waiting for them.
/// Lookups of packets in a row are independent, but each waits for a cache
/// miss on a table far larger than the cache; prefetching the next packets'
/// entries while earlier ones are applied overlaps those misses (plain loads
/// would not: the processor stops retiring at the first missing one).
#[inline]
pub(crate) fn prefetch<T>(v: &T) {
    let p = (v as *const T).cast::<i8>();
    let lines = std::mem::size_of::<T>().div_ceil(64).max(1);
    for l in 0..lines {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint to the cache: it cannot fault,
        // reads nothing into the program, and the address is inside `*v`.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(l * 64));
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (p, l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::FiveTuple;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(i: u32) -> FlowKey {
        FlowKey::of(&FiveTuple {
            proto: 6,
            src: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)),
            sport: (i % 50_000) as u16,
            dport: 22,
        })
    }

    /// Against a std map, through many growths, with colliding hashes.
    #[test]
    fn behaves_as_a_map() {
        let keys: Vec<FlowKey> = (0..5000).map(key).collect();
        // Every third flow shares a hash with its neighbour: the key check
        // must tell them apart.
        let h = |k: usize| FlowIndex::hash(&keys[k - k % 3 / 2]);
        let mut idx = FlowIndex::default();
        let mut want = std::collections::HashMap::new();
        // session j belongs to flow owner[j]
        let mut owner: Vec<usize> = Vec::new();
        for round in 0..3u32 {
            for k in (0..keys.len()).step_by(1 + round as usize) {
                let s = owner.len() as u32;
                owner.push(k);
                idx.set(h(k), s, round, |j| owner[j as usize] == k);
                want.insert(k, (s, round));
            }
        }
        for k in 0..keys.len() {
            assert_eq!(
                idx.get(h(k), |j| owner[j as usize] == k),
                want.get(&k).copied(),
                "flow {k}"
            );
        }
        assert_eq!(idx.len, want.len());
        assert!(idx.slots.len() >= 2 * idx.len);
        assert_eq!(FlowIndex::default().get(1, |_| true), None);
    }
}
