//! The absorbing Markov chain estimated from a path table, in compressed sparse rows.
//!
//! States follow ChannelAttribution's higher-order convention: for order `k`, a path
//! `c1 > … > cm` with `m > k` visits the windows `(c1..ck), (c2..ck+1), …, (cm-k+1..cm)`;
//! a path with `m ≤ k` is the single state `(c1..cm)`. Each path of weight
//! `w = conversions + nulls` adds `w` to `start → first window`, to every window → next
//! window, and `conversions` (resp. `nulls`) to `last window → conversion` (resp. null).
//! Starting instead with the shorter prefixes `(c1), (c1 c2), …` gives exactly the same
//! absorption probabilities: those prefixes form a tree entered only from start, so
//! collapsing it multiplies through to the same first-window probabilities.
//!
//! Self-loops (`a > a` in order 1) are kept. They cancel out of absorption probabilities
//! (a state's fate does not depend on how often it repeats itself), so results equal those
//! of tools that drop repeated states.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::journeys::Journeys;

/// Index of a transient state.
pub(crate) type State = u32;

pub(crate) struct Chain {
    /// Channels of each state's tuple (1 to `order` ids), flattened.
    tuple_offsets: Vec<u32>,
    tuple_channels: Vec<u16>,
    /// `start → state` probabilities.
    pub(crate) start: Vec<(State, f64)>,
    /// Off-diagonal transitions between transient states: row `s` is
    /// `targets[row_offsets[s]..row_offsets[s + 1]]` with `probabilities` beside it.
    pub(crate) row_offsets: Vec<u32>,
    pub(crate) targets: Vec<State>,
    pub(crate) probabilities: Vec<f64>,
    pub(crate) self_loop: Vec<f64>,
    pub(crate) to_conversion: Vec<f64>,
    pub(crate) to_null: Vec<f64>,
}

impl Chain {
    pub(crate) fn states(&self) -> usize {
        self.self_loop.len()
    }

    pub(crate) fn tuple(&self, state: State) -> &[u16] {
        let s = state as usize;
        &self.tuple_channels[self.tuple_offsets[s] as usize..self.tuple_offsets[s + 1] as usize]
    }

    pub(crate) fn row(&self, state: State) -> (&[State], &[f64]) {
        let s = state as usize;
        let range = self.row_offsets[s] as usize..self.row_offsets[s + 1] as usize;
        (&self.targets[range.clone()], &self.probabilities[range])
    }

    /// For each channel, the states whose tuple contains it.
    pub(crate) fn states_by_channel(&self, channels: usize) -> Vec<Vec<State>> {
        let mut by_channel = vec![Vec::new(); channels];
        for state in 0..self.states() as State {
            let tuple = self.tuple(state);
            for (i, &channel) in tuple.iter().enumerate() {
                if !tuple[..i].contains(&channel) {
                    by_channel[channel as usize].push(state);
                }
            }
        }
        by_channel
    }

    /// Estimates the order-`order` chain (1 ≤ order ≤ 3) from `journeys`. Paths with
    /// neither conversions nor nulls carry no weight and add no states.
    pub(crate) fn estimate(journeys: &Journeys, order: usize) -> Chain {
        assert!((1..=3).contains(&order), "orders 1 to 3 are supported");
        let mut index = StateIndex::new(journeys.channels().len(), order);
        let mut tuple_offsets = vec![0u32];
        let mut tuple_channels = Vec::new();

        // Pass 1: number the states in order of first visit.
        for (path, weight) in weighted_paths(journeys) {
            debug_assert!(weight > 0.0);
            for window in windows(path, order) {
                index.get_or_insert(window, || {
                    tuple_channels.extend_from_slice(window);
                    tuple_offsets.push(tuple_channels.len() as u32);
                });
            }
        }
        let states = tuple_offsets.len() - 1;

        // Pass 2: transition weights. A dense matrix while it is small, a map beyond that.
        let mut start = vec![0.0; states];
        let mut to_conversion = vec![0.0; states];
        let mut to_null = vec![0.0; states];
        let mut edges = Edges::new(states);
        for ((path, conversions), nulls) in journeys
            .paths()
            .zip(journeys.conversions())
            .zip(journeys.nulls())
        {
            let weight = conversions + nulls;
            if weight <= 0.0 {
                continue;
            }
            let mut previous: Option<State> = None;
            for window in windows(path, order) {
                let state = index.get(window);
                match previous {
                    None => start[state as usize] += weight,
                    Some(from) => edges.add(from, state, weight),
                }
                previous = Some(state);
            }
            let last = previous.expect("paths are never empty") as usize;
            to_conversion[last] += conversions;
            to_null[last] += nulls;
        }

        // Normalise rows into probabilities.
        let start_total: f64 = start.iter().sum();
        let start = start
            .iter()
            .enumerate()
            .filter(|(_, &w)| w > 0.0)
            .map(|(s, &w)| (s as State, w / start_total))
            .collect();
        let edges = edges.into_sorted();
        let mut row_offsets = Vec::with_capacity(states + 1);
        row_offsets.push(0u32);
        let mut targets = Vec::with_capacity(edges.len());
        let mut probabilities = Vec::with_capacity(edges.len());
        let mut self_loop = vec![0.0; states];
        let mut next_edge = 0;
        for from in 0..states {
            let row_end = next_edge
                + edges[next_edge..]
                    .iter()
                    .take_while(|&&(f, _, _)| f as usize == from)
                    .count();
            let row = &edges[next_edge..row_end];
            next_edge = row_end;
            let total =
                row.iter().map(|&(_, _, w)| w).sum::<f64>() + to_conversion[from] + to_null[from];
            debug_assert!(total > 0.0, "every visited state has an exit");
            for &(_, to, w) in row {
                if to as usize == from {
                    self_loop[from] = w / total;
                } else {
                    targets.push(to);
                    probabilities.push(w / total);
                }
            }
            to_conversion[from] /= total;
            to_null[from] /= total;
            row_offsets.push(targets.len() as u32);
        }
        Chain {
            tuple_offsets,
            tuple_channels,
            start,
            row_offsets,
            targets,
            probabilities,
            self_loop,
            to_conversion,
            to_null,
        }
    }
}

/// Paths with positive weight `conversions + nulls`.
fn weighted_paths(journeys: &Journeys) -> impl Iterator<Item = (&[u16], f64)> {
    journeys
        .paths()
        .zip(journeys.conversions().iter().zip(journeys.nulls()))
        .map(|(path, (c, n))| (path, c + n))
        .filter(|&(_, weight)| weight > 0.0)
}

/// The states a path visits, per the convention in the module docs.
fn windows(path: &[u16], order: usize) -> std::slice::Windows<'_, u16> {
    path.windows(order.min(path.len()))
}

/// Maps a tuple of up to three channel ids to its state number, numbering new tuples in
/// order of first visit.
///
/// While every possible tuple fits in a small table (`n + n² + n³` entries, at most 4 Mi)
/// a direct lookup replaces hashing; beyond that a map keyed by the packed tuple.
struct StateIndex {
    count: State,
    slots: Slots,
}

enum Slots {
    Table { channels: u64, slots: Vec<State> },
    Map(IdMap<u64, State>),
}

const NO_STATE: State = State::MAX;
const TABLE_LIMIT: u64 = 1 << 22;

impl StateIndex {
    fn new(channels: usize, order: usize) -> Self {
        let n = channels as u64;
        let possible =
            (1..=order as u32).try_fold(0u64, |sum, l| sum.checked_add(n.checked_pow(l)?));
        let slots = match possible {
            Some(size) if size <= TABLE_LIMIT => Slots::Table {
                channels: n,
                slots: vec![NO_STATE; size as usize],
            },
            _ => Slots::Map(IdMap::default()),
        };
        Self { count: 0, slots }
    }

    fn get_or_insert(&mut self, window: &[u16], on_new: impl FnOnce()) -> State {
        let count = &mut self.count;
        let slot = match &mut self.slots {
            Slots::Table { channels, slots } => &mut slots[table_key(*channels, window)],
            Slots::Map(map) => map.entry(map_key(window)).or_insert(NO_STATE),
        };
        if *slot == NO_STATE {
            *slot = *count;
            *count += 1;
            on_new();
        }
        *slot
    }

    fn get(&self, window: &[u16]) -> State {
        match &self.slots {
            Slots::Table { channels, slots } => slots[table_key(*channels, window)],
            Slots::Map(map) => map[&map_key(window)],
        }
    }
}

/// Tuples of length `l` occupy slots `n + … + n^(l-1)` onwards, in mixed radix `n`.
fn table_key(n: u64, window: &[u16]) -> usize {
    let mut offset = 0;
    let mut power = 1;
    for _ in 1..window.len() {
        power *= n;
        offset += power;
    }
    (offset + window.iter().fold(0, |code, &c| code * n + c as u64)) as usize
}

/// Length and up to three 16-bit ids packed into one word.
fn map_key(window: &[u16]) -> u64 {
    window
        .iter()
        .fold(window.len() as u64, |key, &c| (key << 16) | c as u64)
}

/// Transition weights between transient states.
enum Edges {
    Dense { states: usize, weights: Vec<f64> },
    Sparse(IdMap<u64, f64>),
}

/// Up to this many states the `states²` matrix (at most 16 MiB) beats hashing.
const DENSE_EDGE_LIMIT: usize = 1448;

impl Edges {
    fn new(states: usize) -> Self {
        if states <= DENSE_EDGE_LIMIT {
            Edges::Dense {
                states,
                weights: vec![0.0; states * states],
            }
        } else {
            Edges::Sparse(IdMap::default())
        }
    }

    fn add(&mut self, from: State, to: State, weight: f64) {
        match self {
            Edges::Dense { states, weights } => {
                weights[from as usize * *states + to as usize] += weight;
            }
            Edges::Sparse(map) => {
                *map.entry(((from as u64) << 32) | to as u64).or_insert(0.0) += weight;
            }
        }
    }

    /// Nonzero weights as `(from, to, weight)`, sorted by `from` then `to`.
    fn into_sorted(self) -> Vec<(State, State, f64)> {
        match self {
            Edges::Dense { states, weights } => weights
                .iter()
                .enumerate()
                .filter(|(_, &w)| w > 0.0)
                .map(|(i, &w)| ((i / states) as State, (i % states) as State, w))
                .collect(),
            Edges::Sparse(map) => {
                let mut all: Vec<(State, State, f64)> = map
                    .into_iter()
                    .map(|(key, w)| ((key >> 32) as State, key as State, w))
                    .collect();
                all.sort_unstable_by_key(|&(from, to, _)| (from, to));
                all
            }
        }
    }
}

/// A hash for integer keys we packed ourselves: a multiply-xorshift mix instead of SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(29) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
