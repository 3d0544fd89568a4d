//! A chunk's string and rule tables: each distinct string (rule, NSG, ACL,
//! MAC, resource) once as a [`Sym`], each distinct rule / ACL / MAC
//! combination once as a [`RuleRef`].

use super::schema::Str;
use super::{RuleEntry, RuleRef, Sym};
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;
use std::sync::Arc;

/// The tables one chunk's records are interned into; they become the
/// [`FlowLogBatch`](super::FlowLogBatch)'s `strings` and `rules`.
pub(super) struct Tables {
    /// Interned strings; `strings[0]` is `""`.
    pub strings: Vec<Arc<str>>,
    /// Symbol by the string's hash (the string itself is kept once, in
    /// `strings`); a different string with the same hash goes to
    /// `string_collided`.
    string_ix: FxHashMap<u64, Sym>,
    string_collided: FxHashMap<Arc<str>, Sym>,
    /// Rule / ACL / MAC combinations; [`RuleRef`] indexes here.
    pub rules: Vec<RuleEntry>,
    rule_ix: FxHashMap<RuleEntry, RuleRef>,
}

impl Default for Tables {
    /// Tables holding only the empty string, as `Sym(0)`.
    fn default() -> Tables {
        let mut string_ix = FxHashMap::default();
        string_ix.insert(FxBuildHasher.hash_one(""), Sym(0));
        Tables {
            strings: vec!["".into()],
            string_ix,
            string_collided: FxHashMap::default(),
            rules: Vec::new(),
            rule_ix: FxHashMap::default(),
        }
    }
}

impl Tables {
    /// The symbol of a string, added if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        let next = Sym(u32::try_from(self.strings.len()).unwrap_or(u32::MAX));
        match self.string_ix.entry(FxBuildHasher.hash_one(s)) {
            Entry::Occupied(e) => {
                let sym = *e.get();
                if self.strings.get(sym.0 as usize).is_some_and(|t| **t == *s) {
                    return sym;
                }
                if let Some(&sym) = self.string_collided.get(s) {
                    return sym;
                }
                let a: Arc<str> = Arc::from(s);
                self.strings.push(a.clone());
                self.string_collided.insert(a, next);
            }
            Entry::Vacant(e) => {
                e.insert(next);
                self.strings.push(Arc::from(s));
            }
        }
        next
    }

    /// [`Tables::intern`] of a field that may be absent (`Sym(0)` then).
    pub fn intern_opt(&mut self, s: Option<&Str<'_>>) -> Sym {
        s.map_or(Sym(0), |s| self.intern(s.as_str()))
    }

    /// The reference of a rule entry, added if new.
    pub fn rule_ref(&mut self, e: RuleEntry) -> RuleRef {
        if let Some(&r) = self.rule_ix.get(&e) {
            return r;
        }
        let r = RuleRef(u32::try_from(self.rules.len()).unwrap_or(u32::MAX));
        self.rules.push(e);
        self.rule_ix.insert(e, r);
        r
    }
}
