//! The path table in columnar, interned form: every distinct path once, its channels as
//! small integer ids in one flat array, and its conversions, value and nulls beside it.
//!
//! Identical paths are merged while parsing, so every model walks each distinct path once
//! and no model ever compares strings.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::input::InvalidInput;

/// Journeys aggregated by path: row `i` is the path `touches[offsets[i]..offsets[i + 1]]`
/// (channel ids into `channels`, in the order touched) with its totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Journeys {
    channels: Vec<String>,
    offsets: Vec<u32>,
    touches: Vec<u16>,
    conversions: Vec<f64>,
    value: Vec<f64>,
    nulls: Vec<f64>,
}

impl Journeys {
    /// Channel ids are `u16`, so a table can name at most this many channels.
    pub const MAX_CHANNELS: usize = u16::MAX as usize + 1;

    /// Parses rows of `(path, conversions, value, nulls)` as in ChannelAttribution's path
    /// table: `path` is `"a > b > c"` with names trimmed; the numbers are finite and ≥ 0;
    /// a row without conversions carries no value. Rows with the same path are summed.
    /// Errors name the 1-based row.
    pub fn parse_rows<'a, I>(rows: I) -> Result<Self, InvalidInput>
    where
        I: IntoIterator<Item = (&'a str, f64, f64, f64)>,
    {
        let mut builder = Builder::new();
        for (index, (path, conversions, value, nulls)) in rows.into_iter().enumerate() {
            builder
                .push_text(path, conversions, value, nulls)
                .map_err(|error| {
                    error.located(&format!("row {}", index + 1), |c| c.name().to_owned())
                })?;
        }
        Ok(builder.finish())
    }

    /// Channel names, indexed by channel id, in order of first appearance.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// Number of distinct paths.
    pub fn len(&self) -> usize {
        self.conversions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conversions.is_empty()
    }

    /// The channel ids of distinct path `index`, first touch first.
    pub fn path(&self, index: usize) -> &[u16] {
        &self.touches[self.offsets[index] as usize..self.offsets[index + 1] as usize]
    }

    /// Every distinct path, in the same order as [`Self::conversions`].
    pub fn paths(&self) -> impl ExactSizeIterator<Item = &[u16]> + '_ {
        self.offsets
            .windows(2)
            .map(|w| &self.touches[w[0] as usize..w[1] as usize])
    }

    pub fn conversions(&self) -> &[f64] {
        &self.conversions
    }

    pub fn value(&self) -> &[f64] {
        &self.value
    }

    pub fn nulls(&self) -> &[f64] {
        &self.nulls
    }

    pub fn total_conversions(&self) -> f64 {
        self.conversions.iter().sum()
    }

    pub fn total_value(&self) -> f64 {
        self.value.iter().sum()
    }

    pub fn total_nulls(&self) -> f64 {
        self.nulls.iter().sum()
    }

    /// Total number of touches over distinct paths.
    pub fn touch_count(&self) -> usize {
        self.touches.len()
    }
}

/// Which input column a row error is about; the caller decides what to call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Path,
    Conversions,
    Value,
    Nulls,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Path => "path",
            Column::Conversions => "conversions",
            Column::Value => "value",
            Column::Nulls => "nulls",
        }
    }
}

/// A problem with one row, before we know whether rows are numbered or lines are.
#[derive(Debug)]
pub(crate) struct RowError {
    column: Column,
    message: String,
}

impl RowError {
    fn new(column: Column, message: impl Into<String>) -> Self {
        Self {
            column,
            message: message.into(),
        }
    }

    /// `where_` is e.g. `row 3` or `line 4`; `name` turns the column into a field name.
    pub(crate) fn located(self, where_: &str, name: impl FnOnce(Column) -> String) -> InvalidInput {
        InvalidInput::new(name(self.column), format!("{where_}: {}", self.message))
    }
}

/// Interns channels and merges identical paths as rows arrive.
///
/// Paths are merged through a hash of their id slice with collision chains in `next`, so
/// no row allocates; the hash is keyed per builder (std's `RandomState`) because the paths
/// come from uploaded data.
pub(crate) struct Builder {
    channel_ids: HashMap<String, u16>,
    journeys: Journeys,
    heads: HashMap<u64, u32>,
    next: Vec<u32>,
    hasher: RandomState,
    scratch: Vec<u16>,
}

const NO_NEXT: u32 = u32::MAX;

impl Builder {
    pub(crate) fn new() -> Self {
        Self {
            channel_ids: HashMap::new(),
            journeys: Journeys {
                channels: Vec::new(),
                offsets: vec![0],
                touches: Vec::new(),
                conversions: Vec::new(),
                value: Vec::new(),
                nulls: Vec::new(),
            },
            heads: HashMap::new(),
            next: Vec::new(),
            hasher: RandomState::new(),
            scratch: Vec::new(),
        }
    }

    /// Registers `name` (already trimmed and non-empty) and returns its id.
    pub(crate) fn channel_id(&mut self, name: &str) -> Result<u16, RowError> {
        if let Some(&id) = self.channel_ids.get(name) {
            return Ok(id);
        }
        let id = self.journeys.channels.len();
        if id >= Journeys::MAX_CHANNELS {
            return Err(RowError::new(
                Column::Path,
                format!(
                    "a path table may name at most {} channels",
                    Journeys::MAX_CHANNELS
                ),
            ));
        }
        let id = id as u16;
        self.channel_ids.insert(name.to_owned(), id);
        self.journeys.channels.push(name.to_owned());
        Ok(id)
    }

    pub(crate) fn push_text(
        &mut self,
        path: &str,
        conversions: f64,
        value: f64,
        nulls: f64,
    ) -> Result<(), RowError> {
        check_amounts(conversions, value, nulls)?;
        if path.trim().is_empty() {
            return Err(RowError::new(
                Column::Path,
                "must name at least one channel, like `a > b`",
            ));
        }
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        for (position, raw) in path.split('>').enumerate() {
            let name = raw.trim();
            if name.is_empty() {
                self.scratch = ids;
                return Err(RowError::new(
                    Column::Path,
                    format!("channel {} of `{}` is empty", position + 1, path.trim()),
                ));
            }
            match self.channel_id(name) {
                Ok(id) => ids.push(id),
                Err(error) => {
                    self.scratch = ids;
                    return Err(error);
                }
            }
        }
        let pushed = self.push_ids(&ids, conversions, value, nulls);
        self.scratch = ids;
        pushed
    }

    /// Adds a path of ids returned by [`Self::channel_id`], merging it with an equal path.
    pub(crate) fn push_ids(
        &mut self,
        ids: &[u16],
        conversions: f64,
        value: f64,
        nulls: f64,
    ) -> Result<(), RowError> {
        debug_assert!(!ids.is_empty());
        let key = self.hasher.hash_one(ids);
        let journeys = &mut self.journeys;
        let mut candidate = self.heads.get(&key).copied().unwrap_or(NO_NEXT);
        while candidate != NO_NEXT {
            let row = candidate as usize;
            if journeys.path(row) == ids {
                journeys.conversions[row] += conversions;
                journeys.value[row] += value;
                journeys.nulls[row] += nulls;
                return Ok(());
            }
            candidate = self.next[row];
        }
        let end = journeys.touches.len() + ids.len();
        let Ok(end) = u32::try_from(end) else {
            return Err(RowError::new(
                Column::Path,
                "the path table has more than 4294967295 touches",
            ));
        };
        let row = journeys.conversions.len() as u32;
        journeys.touches.extend_from_slice(ids);
        journeys.offsets.push(end);
        journeys.conversions.push(conversions);
        journeys.value.push(value);
        journeys.nulls.push(nulls);
        let previous_head = self.heads.insert(key, row).unwrap_or(NO_NEXT);
        self.next.push(previous_head);
        Ok(())
    }

    pub(crate) fn finish(self) -> Journeys {
        self.journeys
    }
}

fn check_amounts(conversions: f64, value: f64, nulls: f64) -> Result<(), RowError> {
    for (column, amount) in [
        (Column::Conversions, conversions),
        (Column::Value, value),
        (Column::Nulls, nulls),
    ] {
        if !amount.is_finite() || amount < 0.0 {
            return Err(RowError::new(
                column,
                format!("must be a finite number ≥ 0, got {amount}"),
            ));
        }
    }
    // Value is the value of the conversions; without conversions no model could credit it,
    // and the totals would no longer match the credits.
    if conversions == 0.0 && value > 0.0 {
        return Err(RowError::new(
            Column::Value,
            "must be 0 when the row has no conversions",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_paths_are_merged_and_channels_trimmed() {
        let journeys = Journeys::parse_rows([
            ("a > b", 1.0, 10.0, 2.0),
            (" a>b ", 2.0, 5.0, 0.0),
            ("b", 0.0, 0.0, 4.0),
        ])
        .unwrap();
        assert_eq!(journeys.channels(), ["a", "b"]);
        assert_eq!(journeys.len(), 2);
        assert_eq!(journeys.path(0), [0, 1]);
        assert_eq!(journeys.path(1), [1]);
        assert_eq!(journeys.conversions(), [3.0, 0.0]);
        assert_eq!(journeys.value(), [15.0, 0.0]);
        assert_eq!(journeys.nulls(), [2.0, 4.0]);
        assert_eq!(journeys.paths().len(), 2);
    }

    #[test]
    fn repeated_channels_and_order_keep_paths_distinct() {
        let journeys = Journeys::parse_rows([
            ("a > b", 1.0, 0.0, 0.0),
            ("b > a", 1.0, 0.0, 0.0),
            ("a > a > b", 1.0, 0.0, 0.0),
        ])
        .unwrap();
        assert_eq!(journeys.len(), 3);
        assert_eq!(journeys.touch_count(), 7);
    }

    #[test]
    fn empty_paths_and_empty_channels_are_refused_with_the_row() {
        let error =
            Journeys::parse_rows([("a", 1.0, 0.0, 0.0), ("  ", 1.0, 0.0, 0.0)]).unwrap_err();
        assert_eq!(error.field(), "path");
        assert!(error.message().starts_with("row 2:"), "{error}");
        let error = Journeys::parse_rows([("a > > b", 1.0, 0.0, 0.0)]).unwrap_err();
        assert!(error.message().contains("channel 2"), "{error}");
    }

    #[test]
    fn negative_or_non_finite_amounts_are_refused() {
        for (row, field) in [
            (("a", -1.0, 0.0, 0.0), "conversions"),
            (("a", 1.0, f64::NAN, 0.0), "value"),
            (("a", 1.0, 0.0, f64::INFINITY), "nulls"),
            (("a", 0.0, 3.0, 1.0), "value"),
        ] {
            assert_eq!(Journeys::parse_rows([row]).unwrap_err().field(), field);
        }
    }

    #[test]
    fn no_rows_make_an_empty_table() {
        let journeys = Journeys::parse_rows(std::iter::empty()).unwrap();
        assert!(journeys.is_empty());
        assert_eq!(journeys.total_conversions(), 0.0);
    }
}
