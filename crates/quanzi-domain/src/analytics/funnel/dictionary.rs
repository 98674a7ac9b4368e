//! Interning names (member ids, event types, channels) to dense codes `0, 1, 2, …` in order
//! of first appearance.
//!
//! An event table repeats a million member ids and a dozen event names ten million times,
//! in no useful order, so a lookup must not allocate and should cost one cache miss: names
//! live back to back in one byte arena, and each slot of an open-addressing table holds a
//! name's first 8 bytes, its length, 24 bits of its hash and its code, so a name of up to 8
//! bytes is found without touching the arena at all. Callers with many names to look up
//! hash them first, read their slots in a loop that waits for nothing
//! (`Dictionary::touch`) and then look them up (`Dictionary::intern_hashed`), which lets
//! the processor overlap the misses. The hash is [`hash_bytes`], seeded per dictionary
//! because names come from uploaded files.
//!
//! The orders reader interns differently ([`crate::analytics::columns::intern_buckets`]:
//! all names bucketed first, then interned bucket by bucket into a read-only
//! [`crate::analytics::columns::Names`]); a `Dictionary` stays because it grows one name at
//! a time and answers [`Dictionary::code`], which callers building event tables by hand
//! need.

use crate::analytics::columns::{hash_bytes, random_seed};

/// Names and their codes: `name(code)` and `code(name)` are inverse, codes are dense and
/// assigned in order of first appearance.
#[derive(Debug, Clone)]
pub struct Dictionary {
    arena: Vec<u8>,
    /// `ends[c]` is where name `c` ends in `arena`; it starts where `c - 1` ends.
    ends: Vec<usize>,
    /// `[head, meta]`: the name's first 8 bytes (zero-padded, little-endian) and
    /// `hash >> 40 << 40 | min(len, 255) << 32 | (code + 1)`; `meta == 0` is empty.
    slots: Vec<[u64; 2]>,
    seed: u64,
}

impl Default for Dictionary {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Dictionary {
    fn eq(&self, other: &Self) -> bool {
        self.ends == other.ends && self.arena == other.arena
    }
}

impl Dictionary {
    pub fn new() -> Self {
        Self {
            arena: Vec::new(),
            ends: Vec::new(),
            slots: vec![[0, 0]; 16],
            seed: random_seed(),
        }
    }

    /// An empty dictionary with room for about `names` names before it grows.
    pub fn with_capacity(names: usize) -> Self {
        let mut dictionary = Self::new();
        dictionary.slots = vec![[0, 0]; (names * 2).next_power_of_two().max(16)];
        dictionary
    }

    /// A dictionary of `names` in this order; a repeated name keeps its first code.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut dictionary = Self::new();
        for name in names {
            dictionary.intern_str(name);
        }
        dictionary
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The name of `code`.
    ///
    /// # Panics
    /// If `code` was not handed out by this dictionary.
    pub fn name(&self, code: u32) -> &str {
        // Only UTF-8 is ever admitted (see `intern`), so this cannot fail.
        std::str::from_utf8(self.bytes(code)).expect("names are checked to be UTF-8")
    }

    /// Every name, in code order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len() as u32).map(|code| self.name(code))
    }

    /// The code of `name`, if it has one.
    pub fn code(&self, name: &str) -> Option<u32> {
        let name = name.as_bytes();
        match self.probe(name, self.hash(name)) {
            Probe::Found(code) => Some(code),
            Probe::Vacant(_) => None,
        }
    }

    /// The code of `name`, assigning the next one if it is new.
    pub fn intern_str(&mut self, name: &str) -> u32 {
        self.intern(name.as_bytes())
            .expect("a &str is always UTF-8")
    }

    /// The code of the bytes `name`, assigning the next one if new; `None` if a new name is
    /// not UTF-8 (a known name is never re-checked).
    pub(crate) fn intern(&mut self, name: &[u8]) -> Option<u32> {
        let hash = self.hash(name);
        self.intern_hashed(name, hash)
    }

    /// [`Self::intern`] with `hash == self.hash(name)` computed beforehand.
    #[inline]
    pub(crate) fn intern_hashed(&mut self, name: &[u8], hash: u64) -> Option<u32> {
        match self.probe(name, hash) {
            Probe::Found(code) => Some(code),
            Probe::Vacant(slot) => self.insert(name, hash, slot),
        }
    }

    /// Reads the table slot where a lookup of `hash` starts, so that a lookup soon after
    /// finds it in cache: reading the slots of a batch of names one after the other, with
    /// nothing waiting on the result, lets the processor fetch them all at once (safe Rust
    /// has no prefetch instruction). Returns a value for the caller to pass to
    /// `std::hint::black_box`, so the read is not optimised away.
    #[inline]
    pub(crate) fn touch(&self, hash: u64) -> u64 {
        self.slots[hash as usize & (self.slots.len() - 1)][1]
    }

    /// This dictionary's hash of `name`.
    #[inline]
    pub(crate) fn hash(&self, name: &[u8]) -> u64 {
        hash_bytes(name, self.seed)
    }

    /// The name of `code` as bytes.
    pub(crate) fn bytes(&self, code: u32) -> &[u8] {
        let code = code as usize;
        let start = if code == 0 { 0 } else { self.ends[code - 1] };
        &self.arena[start..self.ends[code]]
    }

    #[inline]
    fn probe(&self, name: &[u8], hash: u64) -> Probe {
        let mask = self.slots.len() - 1;
        let head = head(name);
        let wanted = meta(hash, name.len(), 0) >> 32;
        let mut at = hash as usize & mask;
        loop {
            let [slot_head, slot_meta] = self.slots[at];
            if slot_meta == 0 {
                return Probe::Vacant(at);
            }
            if slot_meta >> 32 == wanted && slot_head == head {
                let code = (slot_meta as u32) - 1;
                if name.len() <= 8 || self.bytes(code) == name {
                    return Probe::Found(code);
                }
            }
            at = (at + 1) & mask;
        }
    }

    #[cold]
    fn insert(&mut self, name: &[u8], hash: u64, slot: usize) -> Option<u32> {
        std::str::from_utf8(name).ok()?;
        let code = self.ends.len() as u32;
        self.arena.extend_from_slice(name);
        self.ends.push(self.arena.len());
        self.slots[slot] = [head(name), meta(hash, name.len(), code)];
        // Keep the table at most half full so probe chains stay short.
        if self.ends.len() * 2 > self.slots.len() {
            self.grow();
        }
        Some(code)
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let mask = size - 1;
        let mut slots = vec![[0u64; 2]; size];
        for code in 0..self.ends.len() as u32 {
            let name = self.bytes(code);
            let hash = hash_bytes(name, self.seed);
            let mut at = hash as usize & mask;
            while slots[at][1] != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = [head(name), meta(hash, name.len(), code)];
        }
        self.slots = slots;
    }
}

enum Probe {
    Found(u32),
    Vacant(usize),
}

/// The first 8 bytes of `name`, zero-padded.
#[inline]
fn head(name: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = name.len().min(8);
    word[..n].copy_from_slice(&name[..n]);
    u64::from_le_bytes(word)
}

#[inline]
fn meta(hash: u64, len: usize, code: u32) -> u64 {
    (hash >> 40) << 40 | (len.min(255) as u64) << 32 | u64::from(code + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_in_order_of_first_appearance() {
        let mut dictionary = Dictionary::new();
        let names: Vec<String> = (0..5000).map(|i| format!("m{}", i % 1234)).collect();
        let codes: Vec<u32> = names.iter().map(|n| dictionary.intern_str(n)).collect();
        assert_eq!(dictionary.len(), 1234);
        for (name, code) in names.iter().zip(&codes) {
            assert_eq!(dictionary.name(*code), name);
            assert_eq!(dictionary.code(name), Some(*code));
        }
        assert_eq!(codes[..3], [0, 1, 2]);
        assert_eq!(dictionary.code("absent"), None);
        let long = "a name longer than eight bytes";
        assert_eq!(dictionary.intern_str(long), 1234);
        assert_eq!(dictionary.code("a name longer than eight bytez"), None);
        assert_eq!(dictionary.code(long), Some(1234));
        assert_eq!(dictionary.intern_str(""), 1235);
        assert_eq!(dictionary.name(1235), "");
    }

    #[test]
    fn new_names_that_are_not_utf8_are_refused() {
        let mut dictionary = Dictionary::from_names(["a"]);
        assert_eq!(dictionary.intern(b"\xff"), None);
        assert_eq!(dictionary.intern(b"a"), Some(0));
        assert_eq!(dictionary.names().collect::<Vec<_>>(), ["a"]);
    }
}
