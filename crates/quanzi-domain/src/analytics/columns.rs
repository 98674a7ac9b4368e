//! Byte-level pieces that the analyses' CSV readers (orders for RFM, event logs for
//! funnels and retention) share: lines with 1-based numbers, chunks of whole lines for
//! parallel parsing, fields (RFC 4180 quotes, one record per line), whole numbers,
//! timestamps (with [`Timestamps`] remembering the last date) and a seeded hash.
//!
//! Readers take the file as `&[u8]` and never allocate per row: a field is a slice of the
//! input, and only a quoted field with a doubled quote inside is copied (into a scratch
//! buffer the caller reuses).
//!
//! Names (customer or member ids) become dense codes in two passes, because ten million
//! rows naming a million customers would miss the cache on nearly every lookup in one big
//! table: while parsing, each thread appends every name to one of 64 [`KeyBuckets`]
//! chosen by hash (sequential writes); then [`intern_buckets`] interns bucket by bucket,
//! each bucket's table small enough to stay in the core's cache, and numbers the names in
//! order of first appearance so that codes do not depend on the (per-run random) hash
//! seed.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// The position of the first `needle` in `haystack`, eight bytes at a time.
#[inline]
pub fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = LOW.wrapping_mul(u64::from(needle));
    let mut chunks = haystack.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8")) ^ pattern;
        // A zero byte in `word` is a match; this sets its high bit (and no lower one's).
        let found = word.wrapping_sub(LOW) & !word & HIGH;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| at + i)
}

/// Number of `\n` in `bytes`, eight bytes at a time.
pub fn count_newlines(bytes: &[u8]) -> usize {
    const NEWLINES: u64 = 0x0A0A_0A0A_0A0A_0A0A;
    let mut chunks = bytes.chunks_exact(8);
    let mut count = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        count += zero_bytes(word ^ NEWLINES).count_ones() as usize;
    }
    count + chunks.remainder().iter().filter(|&&b| b == b'\n').count()
}

/// `bytes` without a leading UTF-8 byte-order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

/// Splits `bytes` into at most `parts` chunks of whole lines (each but the last ends with
/// `\n`), of roughly equal size, for parsing on several threads.
pub fn line_chunks(bytes: &[u8], parts: usize) -> Vec<&[u8]> {
    let parts = parts.max(1);
    let mut chunks = Vec::with_capacity(parts);
    let mut rest = bytes;
    for part in (1..parts).rev() {
        let target = rest.len() / (part + 1);
        let Some(newline) = find_byte(&rest[target..], b'\n') else {
            break;
        };
        let (chunk, tail) = rest.split_at(target + newline + 1);
        chunks.push(chunk);
        rest = tail;
    }
    chunks.push(rest);
    chunks
}

/// The lines of `bytes` with their 1-based numbers, `\r\n` or `\n` ended, skipping lines
/// that are empty or only spaces and tabs.
pub struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl<'a> Lines<'a> {
    /// Lines of `bytes`, numbered from `first_number`.
    pub fn new(bytes: &'a [u8], first_number: usize) -> Self {
        Self {
            rest: bytes,
            number: first_number.saturating_sub(1),
        }
    }

    /// The input after the lines returned so far.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// The number of the last line returned or skipped (`first_number - 1` before any).
    pub fn number(&self) -> usize {
        self.number
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            self.number += 1;
            let (mut line, rest) = match find_byte(self.rest, b'\n') {
                Some(end) => (&self.rest[..end], &self.rest[end + 1..]),
                None => (self.rest, &self.rest[self.rest.len()..]),
            };
            self.rest = rest;
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            if line.iter().all(|&b| b == b' ' || b == b'\t') {
                continue;
            }
            return Some((self.number, line));
        }
        None
    }
}

/// One field of a record, without surrounding spaces and quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    raw: &'a [u8],
    /// Quoted with `""` inside, which [`Field::bytes`] turns into `"`.
    escaped: bool,
}

impl<'a> Field<'a> {
    /// The field's text: `""` inside a quoted field becomes `"`, written to `scratch` only
    /// in that case.
    #[inline]
    pub fn bytes<'s>(&self, scratch: &'s mut Vec<u8>) -> &'s [u8]
    where
        'a: 's,
    {
        if !self.escaped {
            return self.raw;
        }
        scratch.clear();
        let mut quote = false;
        for &b in self.raw {
            // Inside the quotes every `"` is doubled: keep every other one.
            if b == b'"' {
                quote = !quote;
                if !quote {
                    continue;
                }
            }
            scratch.push(b);
        }
        scratch
    }

    /// The field as written between its quotes (a doubled quote stays doubled).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

/// The fields of one line: comma separated, spaces and tabs around a field ignored, a field
/// may be double-quoted (with `""` for a quote inside, and commas) but may not span lines.
pub struct Fields<'a> {
    line: &'a [u8],
    at: usize,
    done: bool,
    /// Whether tabs, not only spaces, may stand between a quote and its comma.
    tabs_around_quotes: bool,
}

/// Splits `line` (without its line ending) into fields.
pub fn fields(line: &[u8]) -> Fields<'_> {
    Fields {
        line,
        at: 0,
        done: false,
        tabs_around_quotes: true,
    }
}

impl Fields<'_> {
    /// Lets only spaces, not tabs, stand between a quote and the comma or line end beside
    /// it: a tab before an opening quote makes the field unquoted (quotes kept), one after
    /// a closing quote is an error. The funnel reader has always read fields so.
    pub fn spaces_only_around_quotes(mut self) -> Self {
        self.tabs_around_quotes = false;
        self
    }

    /// Whether `b` may stand between a quote and its comma.
    #[inline]
    fn pads_quote(&self, b: u8) -> bool {
        b == b' ' || (b == b'\t' && self.tabs_around_quotes)
    }
}

/// `bytes` without the spaces and tabs around it.
#[inline]
pub fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, &'static str>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.line[self.at..];
        let start = rest
            .iter()
            .position(|&b| !self.pads_quote(b))
            .unwrap_or(rest.len());
        if rest.get(start) != Some(&b'"') {
            let (field, next) = match find_byte(rest, b',') {
                Some(comma) => (&rest[..comma], self.at + comma + 1),
                None => {
                    self.done = true;
                    (rest, self.line.len())
                }
            };
            self.at = next;
            // A quote inside an unquoted field is taken literally (checking for one would
            // cost a second pass over every field).
            return Some(Ok(Field {
                raw: trim(field),
                escaped: false,
            }));
        }
        // A quoted field: up to the quote that is not doubled.
        let body = &rest[start + 1..];
        let mut escaped = false;
        let mut i = 0;
        let end = loop {
            match find_byte(&body[i..], b'"') {
                None => {
                    self.done = true;
                    return Some(Err("a quoted field is not closed"));
                }
                Some(q) if body.get(i + q + 1) == Some(&b'"') => {
                    escaped = true;
                    i += q + 2;
                }
                Some(q) => break i + q,
            }
        };
        let after = &body[end + 1..];
        let gap = after
            .iter()
            .position(|&b| !self.pads_quote(b))
            .unwrap_or(after.len());
        match after.get(gap) {
            None => self.done = true,
            Some(b',') => self.at = self.line.len() - after.len() + gap + 1,
            Some(_) => {
                self.done = true;
                return Some(Err("unexpected text after a closing quote"));
            }
        }
        Some(Ok(Field {
            raw: &body[..end],
            escaped,
        }))
    }
}

/// Splits a line without quotes at its commas into `out` (cleared first), trimming spaces
/// and tabs around each field, eight bytes at a time. Returns false, leaving `out`
/// unspecified, if the line has a `"`: then [`fields`] must split it.
pub fn split_unquoted<'a>(line: &'a [u8], out: &mut Vec<&'a [u8]>) -> bool {
    const COMMAS: u64 = 0x2C2C_2C2C_2C2C_2C2C;
    const QUOTES: u64 = 0x2222_2222_2222_2222;
    out.clear();
    let mut start = 0;
    let mut base = 0;
    let mut chunks = line.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        if zero_bytes(word ^ QUOTES) != 0 {
            return false;
        }
        let mut commas = zero_bytes(word ^ COMMAS);
        while commas != 0 {
            let at = base + (commas.trailing_zeros() / 8) as usize;
            out.push(trim(&line[start..at]));
            start = at + 1;
            commas &= commas - 1;
        }
        base += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        match b {
            b'"' => return false,
            b',' => {
                out.push(trim(&line[start..base + i]));
                start = base + i + 1;
            }
            _ => {}
        }
    }
    out.push(trim(&line[start..]));
    true
}

/// The high bit of every zero byte of `word`, exactly (unlike the shorter test for "any
/// zero byte", which may also mark a 0x01 byte above a zero one).
#[inline]
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !((word & LOW7).wrapping_add(LOW7) | word | LOW7)
}

/// A whole number in decimal (`-12`, `+7`, `0042`); surrounding spaces were trimmed by
/// [`fields`]. `None` for anything else or on overflow.
#[inline]
pub fn parse_int(field: &[u8]) -> Option<i64> {
    let (negative, digits) = match field {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, field),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    if digits.len() <= 18 {
        // Eighteen digits cannot overflow: the common case needs no checks.
        for &b in digits {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value * 10 + i64::from(digit);
        }
    } else {
        for &b in digits {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(i64::from(digit))?;
        }
    }
    Some(if negative { -value } else { value })
}

/// The latest second a timestamp may name: 9999-12-31 23:59:59 UTC.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;
/// The earliest: 0001-01-01 00:00:00 UTC.
pub const MIN_TIMESTAMP: i64 = -62_135_596_800;

/// Seconds since 1970-01-01 00:00:00 UTC of epoch seconds (`1764547200`) or a date-time
/// `YYYY-MM-DD HH:MM:SS` (or `T` between, an ignored fraction `.123` and a `Z`), or a
/// date `YYYY-MM-DD` (midnight); date-times without a zone are read as UTC. `None` if the
/// field is neither or lies outside the years 1 to 9999 (epoch milliseconds do). A reader
/// of many rows should keep a [`Timestamps`] instead.
pub fn parse_timestamp(field: &[u8]) -> Option<i64> {
    Timestamps::new().parse(field)
}

/// Reads timestamps as [`parse_timestamp`] does, remembering the last date it read: a log
/// in time order repeats the previous row's date on most rows, which then skip the
/// calendar arithmetic.
#[derive(Debug, Clone, Default)]
pub struct Timestamps {
    /// The last date read, `YYYY-MM-DD`; zeros before the first, which no date matches.
    date: [u8; 10],
    /// Its days since 1970-01-01.
    day: i64,
}

impl Timestamps {
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`parse_timestamp`].
    #[inline]
    pub fn parse(&mut self, field: &[u8]) -> Option<i64> {
        if field.len() >= 10 && field[4] == b'-' {
            self.date_time(field)
        } else {
            parse_int(field).filter(|seconds| (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(seconds))
        }
    }

    /// Seconds since the epoch of a date-time or date as [`parse_timestamp`] reads them
    /// (so between [`MIN_TIMESTAMP`] and [`MAX_TIMESTAMP`]); a leap second counts as the
    /// last second of its minute.
    #[inline]
    pub fn date_time(&mut self, field: &[u8]) -> Option<i64> {
        let date: [u8; 10] = field.get(..10)?.try_into().ok()?;
        if date != self.date {
            self.day = day_number(&date)?;
            self.date = date;
        }
        let day = self.day * 86_400;
        if field.len() == 10 {
            return Some(day);
        }
        let time = &field[10..];
        if time.len() < 9 || !matches!(time[0], b' ' | b'T') || time[3] != b':' || time[6] != b':' {
            return None;
        }
        let (hour, minute, second) = (
            digits(&time[1..3])?,
            digits(&time[4..6])?,
            digits(&time[7..9])?,
        );
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut tail = &time[9..];
        if let [b'.', fraction @ ..] = tail {
            let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            tail = &fraction[digits..];
        }
        if !matches!(tail, [] | [b'Z']) {
            return None;
        }
        Some(day + i64::from(hour * 3600 + minute * 60 + second.min(59)))
    }
}

/// Days since 1970-01-01 of `YYYY-MM-DD`, years 1 to 9999.
fn day_number(date: &[u8; 10]) -> Option<i64> {
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let (year, month, day) = (
        digits(&date[0..4])?,
        digits(&date[5..7])?,
        digits(&date[8..10])?,
    );
    let valid = year >= 1
        && (1..=12).contains(&month)
        && day >= 1
        && i64::from(day) <= crate::time::days_in_month(i64::from(year), i64::from(month));
    valid.then(|| crate::time::days_from_civil(i64::from(year), month, day))
}

/// The number written by `bytes`, all decimal digits (at most nine of them).
#[inline]
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit <= 9).then(|| n * 10 + u32::from(digit))
    })
}

/// Names are spread over this many buckets by the top 6 bits of their hash: few enough
/// that a parsing thread's writes to them stay in cache, enough that a million names make
/// buckets of some 16 thousand, whose tables fit in a core's L2 cache.
const BUCKETS: usize = 64;

/// A seed for [`KeyBuckets`], random per run because names come from uploaded files.
pub fn random_seed() -> u64 {
    RandomState::new().hash_one(0x7175_616e_7a69_u64)
}

/// A fast seeded hash for short byte strings: 8 bytes at a time through a folded 128-bit
/// multiply (the mixing step of wyhash and foldhash).
#[inline]
pub fn hash_bytes(bytes: &[u8], seed: u64) -> u64 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xD6E8_FEB8_6659_FD93;
    let fold = |a: u64, b: u64| {
        let product = u128::from(a) * u128::from(b);
        (product as u64) ^ ((product >> 64) as u64)
    };
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K1);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        h = fold(
            h ^ u64::from_le_bytes(chunk.try_into().expect("chunks of 8")),
            K2,
        );
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = fold(h ^ u64::from_le_bytes(word), K2);
    }
    fold(h, K1)
}

/// Byte equality without a call to `memcmp`, which dominates for names this short.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut a8).zip(&mut b8) {
        if x != y {
            return false;
        }
    }
    a8.remainder()
        .iter()
        .zip(b8.remainder())
        .all(|(x, y)| x == y)
}

/// The names of one chunk of a file, row by row, bucketed by hash for
/// [`intern_buckets`].
pub struct KeyBuckets {
    seed: u64,
    buckets: Vec<Bucket>,
    /// The bucket of each row's name, in row order.
    bucket_of_row: Vec<u8>,
}

/// One bucket of one chunk: a fixed-size record per row, and the bytes of the names too
/// long to fit in theirs.
#[derive(Default)]
struct Bucket {
    records: Vec<Record>,
    long: Vec<u8>,
}

/// Names of up to this many bytes live in their record.
const SHORT: usize = 11;

/// `row: u32` (within the chunk), then a length byte and the name if it has at most
/// [`SHORT`] bytes, else 255 and the name's length as `u32` (its bytes follow those of
/// the bucket's earlier long names). Fixed-size, so appending one is two moves rather than
/// a call to `memcpy`.
type Record = [u8; 16];

impl KeyBuckets {
    /// Buckets hashing with `seed` (the same for every chunk of a file), with room for
    /// `rows` rows (growing beyond costs copies, reserving more than is used costs nothing
    /// but address space).
    pub fn new(seed: u64, rows: usize) -> Self {
        let each = rows / BUCKETS * 5 / 4 + 64;
        Self {
            seed,
            buckets: (0..BUCKETS)
                .map(|_| Bucket {
                    records: Vec::with_capacity(each),
                    long: Vec::new(),
                })
                .collect(),
            bucket_of_row: Vec::with_capacity(rows),
        }
    }

    /// Adds the next row's name.
    ///
    /// # Panics
    /// After 2^32 rows.
    pub fn push(&mut self, name: &str) {
        let bytes = name.as_bytes();
        let row = u32::try_from(self.bucket_of_row.len()).expect("at most 2^32 rows a chunk");
        let index = (hash_bytes(bytes, self.seed) >> 58) as u8;
        let bucket = &mut self.buckets[usize::from(index)];
        let mut record: Record = [0; 16];
        record[..4].copy_from_slice(&row.to_le_bytes());
        if bytes.len() <= SHORT {
            record[4] = bytes.len() as u8;
            record[5..5 + bytes.len()].copy_from_slice(bytes);
        } else {
            record[4] = 255;
            let len = u32::try_from(bytes.len()).expect("a name under 4 GiB");
            record[5..9].copy_from_slice(&len.to_le_bytes());
            bucket.long.extend_from_slice(bytes);
        }
        bucket.records.push(record);
        self.bucket_of_row.push(index);
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> usize {
        self.bucket_of_row.len()
    }
}

/// Codes given to names, dense and in order of first appearance, with the names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    text: String,
    /// `ends[c]` is where name `c` ends in `text`; it starts where `c - 1` ends.
    ends: Vec<usize>,
}

impl Names {
    /// Names in code order (a repeated name keeps its first code).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let mut result = Self::default();
        for name in names {
            if seen.insert(name) {
                result.text.push_str(name);
                result.ends.push(result.text.len());
            }
        }
        result
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The name of `code`.
    ///
    /// # Panics
    /// If `code` is not below [`Self::len`].
    pub fn get(&self, code: u32) -> &str {
        let code = code as usize;
        let start = if code == 0 { 0 } else { self.ends[code - 1] };
        &self.text[start..self.ends[code]]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len() as u32).map(|code| self.get(code))
    }
}

/// Interns the names of a file parsed in chunks (`chunks` in file order, hashed with one
/// seed): returns each row's code, rows numbered across the chunks in order, and the
/// names by code, numbered in order of first appearance. Uses up to `threads` threads.
/// Fails only beyond 2^32 rows or names.
///
/// Each bucket is interned on its own, in cache, into codes local to the bucket written
/// in record order; the rows then pick their codes up from the buckets' streams in row
/// order, so no pass writes to scattered places in a large array.
pub fn intern_buckets(
    chunks: &[KeyBuckets],
    threads: usize,
) -> Result<(Vec<u32>, Names), &'static str> {
    let threads = threads.clamp(1, BUCKETS);
    let mut chunk_base = Vec::with_capacity(chunks.len() + 1);
    chunk_base.push(0usize);
    for chunk in chunks {
        chunk_base.push(chunk_base.last().expect("starts with 0") + chunk.rows());
    }
    let rows = *chunk_base.last().expect("starts with 0");
    u32::try_from(rows).map_err(|_| "more than 2^32 rows")?;

    let mut tables: Vec<(usize, BucketTable)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let chunk_base = &chunk_base;
                scope.spawn(move || {
                    (t..BUCKETS)
                        .step_by(threads)
                        .map(|bucket| (bucket, BucketTable::build(bucket, chunks, chunk_base)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("interning does not panic"))
            .collect()
    });
    tables.sort_by_key(|(bucket, _)| *bucket);
    let tables: Vec<BucketTable> = tables.into_iter().map(|(_, table)| table).collect();
    let mut base = Vec::with_capacity(BUCKETS + 1);
    base.push(0usize);
    for table in &tables {
        base.push(base.last().expect("starts with 0") + table.len());
    }
    let total = *base.last().expect("starts with 0");
    u32::try_from(total).map_err(|_| "more than 2^32 names")?;

    // A name's code is the number of first appearances before its own: mark the rows of
    // first appearances and count the marks before each.
    let mut first = vec![0u64; rows.div_ceil(64)];
    for table in &tables {
        for &row in &table.first {
            first[row as usize / 64] |= 1 << (row % 64);
        }
    }
    let mut before = Vec::with_capacity(first.len());
    let mut running = 0u32;
    for word in &first {
        before.push(running);
        running += word.count_ones();
    }
    let mut remap = vec![0u32; total];
    for (table, &at) in tables.iter().zip(&base) {
        for (local, &row) in table.first.iter().enumerate() {
            let (word, bit) = (row as usize / 64, row % 64);
            remap[at + local] = before[word] + (first[word] & ((1u64 << bit) - 1)).count_ones();
        }
    }

    // Rows pick up their codes chunk by chunk, each chunk on its own thread, from where
    // the earlier chunks left each bucket's stream.
    let mut codes = vec![0u32; rows];
    std::thread::scope(|scope| {
        let mut cursors = vec![0usize; BUCKETS];
        let mut rest = &mut codes[..];
        for chunk in chunks {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(chunk.rows());
            rest = tail;
            let start = cursors.clone();
            for (cursor, bucket) in cursors.iter_mut().zip(&chunk.buckets) {
                *cursor += bucket.records.len();
            }
            let (tables, base, remap) = (&tables, &base, &remap);
            scope.spawn(move || {
                let mut cursor = start;
                for (code, &bucket) in mine.iter_mut().zip(&chunk.bucket_of_row) {
                    let bucket = usize::from(bucket);
                    let local = tables[bucket].locals[cursor[bucket]];
                    cursor[bucket] += 1;
                    *code = remap[base[bucket] + local as usize];
                }
            });
        }
    });

    // The names in code order.
    let mut by_code = vec![(0u8, 0u32); total];
    for (bucket, (table, &at)) in tables.iter().zip(&base).enumerate() {
        for local in 0..table.len() {
            by_code[remap[at + local] as usize] = (bucket as u8, local as u32);
        }
    }
    let mut text = Vec::with_capacity(tables.iter().map(|t| t.arena.len()).sum());
    let mut ends = Vec::with_capacity(total);
    for (bucket, local) in by_code {
        text.extend_from_slice(tables[usize::from(bucket)].name(local));
        ends.push(text.len());
    }
    let text = String::from_utf8(text).map_err(|_| "names are pushed as UTF-8")?;
    Ok((codes, Names { text, ends }))
}

/// One bucket's names: an open-addressing table over a byte arena, small enough to stay in
/// cache while the bucket's records stream past.
struct BucketTable {
    arena: Vec<u8>,
    ends: Vec<u32>,
    /// 0 = empty, else `(hash >> 32) << 32 | (code + 1)`.
    slots: Vec<u64>,
    /// The row (across chunks) where each name appears first.
    first: Vec<u32>,
    /// The local code of every record of the bucket, in row order.
    locals: Vec<u32>,
    seed: u64,
}

impl BucketTable {
    /// Interns bucket `bucket` of every chunk, in row order.
    fn build(bucket: usize, chunks: &[KeyBuckets], chunk_base: &[usize]) -> Self {
        let records: usize = chunks.iter().map(|c| c.buckets[bucket].records.len()).sum();
        let mut table = Self {
            arena: Vec::new(),
            ends: Vec::new(),
            slots: vec![0; 1024],
            first: Vec::new(),
            locals: Vec::with_capacity(records),
            seed: chunks.first().map_or(0, |c| c.seed),
        };
        for (chunk, &base) in chunks.iter().zip(chunk_base) {
            debug_assert_eq!(chunk.seed, table.seed, "one seed for every chunk");
            let Bucket { records, long } = &chunk.buckets[bucket];
            let mut long = &long[..];
            // In batches: hash a batch and touch its slots first, so that the batch's
            // cache misses overlap instead of coming one after another.
            let mut batch: Vec<(&[u8], u32, u64)> = Vec::with_capacity(16);
            for group in records.chunks(16) {
                batch.clear();
                let mut touched = 0u64;
                let mask = table.slots.len() - 1;
                for record in group {
                    let row = base as u32
                        + u32::from_le_bytes([record[0], record[1], record[2], record[3]]);
                    let name = match record[4] {
                        255 => {
                            let len =
                                u32::from_le_bytes([record[5], record[6], record[7], record[8]]);
                            let (name, rest) = long.split_at(len as usize);
                            long = rest;
                            name
                        }
                        len => &record[5..5 + usize::from(len)],
                    };
                    let hash = hash_bytes(name, table.seed);
                    touched ^= table.slots[hash as usize & mask];
                    batch.push((name, row, hash));
                }
                std::hint::black_box(touched);
                for &(name, row, hash) in &batch {
                    let local = table.intern(name, hash, row);
                    table.locals.push(local);
                }
            }
        }
        table
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn name(&self, code: u32) -> &[u8] {
        let code = code as usize;
        let start = if code == 0 {
            0
        } else {
            self.ends[code - 1] as usize
        };
        &self.arena[start..self.ends[code] as usize]
    }

    #[inline]
    fn intern(&mut self, name: &[u8], hash: u64, row: u32) -> u32 {
        let mask = self.slots.len() - 1;
        let wanted = hash >> 32;
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                break;
            }
            if slot >> 32 == wanted {
                let code = slot as u32 - 1;
                if same_bytes(self.name(code), name) {
                    return code;
                }
            }
            at = (at + 1) & mask;
        }
        // Rows are below 2^32 and each adds at most one name, so codes fit; the arena may
        // not pass 4 GiB, which no realistic id column comes near.
        let code = self.ends.len() as u32;
        self.arena.extend_from_slice(name);
        self.ends
            .push(u32::try_from(self.arena.len()).expect("names of a bucket under 4 GiB"));
        self.first.push(row);
        self.slots[at] = wanted << 32 | u64::from(code + 1);
        // Keep the table at most half full so probe chains stay short.
        if self.ends.len() * 2 > self.slots.len() {
            self.grow();
        }
        code
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let mask = size - 1;
        let mut slots = vec![0u64; size];
        for code in 0..self.ends.len() as u32 {
            let hash = hash_bytes(self.name(code), self.seed);
            let mut at = hash as usize & mask;
            while slots[at] != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = (hash >> 32) << 32 | u64::from(code + 1);
        }
        self.slots = slots;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(line: &str) -> Result<Vec<String>, &'static str> {
        let mut scratch = Vec::new();
        fields(line.as_bytes())
            .map(|f| f.map(|f| String::from_utf8(f.bytes(&mut scratch).to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn fields_are_split_trimmed_and_unquoted() {
        assert_eq!(split("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(split(" a , b ").unwrap(), ["a", "b"]);
        assert_eq!(split("").unwrap(), [""]);
        assert_eq!(split("a,").unwrap(), ["a", ""]);
        assert_eq!(
            split(r#""x, y", "say ""hi""" ,z"#).unwrap(),
            ["x, y", r#"say "hi""#, "z"]
        );
        assert_eq!(split(r#""",1"#).unwrap(), ["", "1"]);
        assert_eq!(split(r#"a,"b""#).unwrap(), ["a", "b"]);
        assert!(split(r#"a,"b"#).unwrap_err().contains("not closed"));
        assert_eq!(split(r#"a,b"c"#).unwrap(), ["a", r#"b"c"#]);
        assert!(split(r#""a"b,c"#)
            .unwrap_err()
            .contains("after a closing quote"));
    }

    #[test]
    fn unquoted_lines_split_like_the_general_splitter() {
        let mut out = Vec::new();
        for line in [
            "a,b,,c",
            " a , b ",
            "",
            "a,",
            ",",
            "order-12345678,customer-0001,1764547200,12900,0",
            "a,b\tc,\td\t",
        ] {
            assert!(split_unquoted(line.as_bytes(), &mut out));
            let general: Vec<&[u8]> = fields(line.as_bytes()).map(|f| f.unwrap().raw()).collect();
            assert_eq!(out, general, "{line}");
        }
        assert!(!split_unquoted(b"a,\"b\"", &mut out));
        assert!(!split_unquoted(b"abcdefgh\"", &mut out));
        assert_eq!(
            zero_bytes(0x0100),
            0x8080_8080_8080_0080,
            "a 0x01 above a zero byte"
        );
    }

    #[test]
    fn lines_are_numbered_and_blank_ones_skipped() {
        let text = b"h\r\n\n  \nx,1\r\ny,2";
        let lines: Vec<(usize, &[u8])> = Lines::new(text, 1).collect();
        assert_eq!(lines, [(1, &b"h"[..]), (4, b"x,1"), (5, b"y,2")]);
        let mut lines = Lines::new(b"a\nb\n", 7);
        assert_eq!(lines.next(), Some((7, &b"a"[..])));
        assert_eq!(lines.rest(), b"b\n");
    }

    #[test]
    fn timestamps_are_epoch_seconds_or_utc_date_times() {
        assert_eq!(parse_timestamp(b"1764547200"), Some(1_764_547_200));
        assert_eq!(parse_timestamp(b"-86400"), Some(-86_400));
        assert_eq!(parse_timestamp(b"2025-12-01 00:00:00"), Some(1_764_547_200));
        assert_eq!(
            parse_timestamp(b"2025-12-01T00:00:01Z"),
            Some(1_764_547_201)
        );
        assert_eq!(
            parse_timestamp(b"2025-12-01 00:00:01.999"),
            Some(1_764_547_201)
        );
        assert_eq!(parse_timestamp(b"2025-12-01"), Some(1_764_547_200));
        assert_eq!(parse_timestamp(b"2024-02-29 23:59:59"), Some(1_709_251_199));
        for bad in [
            &b"2025-02-29 00:00:00"[..],
            b"2025-13-01",
            b"2025-12-01 24:00:00",
            b"2025-12-01 00:00",
            b"2025-12-01 00:00:00+08:00",
            b"1764547200000",
            b"12.5",
            b"",
            b"soon",
        ] {
            assert_eq!(
                parse_timestamp(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_timestamp_reader_remembers_only_valid_dates() {
        let mut timestamps = Timestamps::new();
        assert_eq!(
            timestamps.parse(b"2025-12-01 00:00:01"),
            Some(1_764_547_201)
        );
        assert_eq!(
            timestamps.parse(b"2025-12-01 23:59:60"),
            Some(1_764_633_599)
        );
        assert_eq!(timestamps.parse(b"2025-12-01x00:00:01"), None);
        assert_eq!(timestamps.parse(b"2025-02-29"), None);
        assert_eq!(timestamps.parse(b"2025-02-29 00:00:00"), None);
        assert_eq!(timestamps.parse(b"0000-01-01"), None);
        assert_eq!(timestamps.parse(b"0001-01-01"), Some(MIN_TIMESTAMP));
        assert_eq!(
            timestamps.parse(b"9999-12-31 23:59:59"),
            Some(MAX_TIMESTAMP)
        );
        assert_eq!(timestamps.parse(b"1764547200"), Some(1_764_547_200));
    }

    #[test]
    fn find_byte_finds_the_first_match_at_any_offset() {
        let hay = b"abcdefghijklmnopqrstuvwxyz,0123456789,";
        for start in 0..hay.len() {
            let expected = hay[start..].iter().position(|&b| b == b',');
            assert_eq!(find_byte(&hay[start..], b','), expected);
        }
        // A borrow out of a matching byte flags the bytes above it, never a lower one.
        assert_eq!(find_byte(b"\x81\x80,", b','), Some(2));
        assert_eq!(find_byte(b"", b','), None);
    }

    #[test]
    fn fields_may_refuse_tabs_around_quotes() {
        let split = |line: &[u8]| -> Result<Vec<Vec<u8>>, &'static str> {
            let mut scratch = Vec::new();
            fields(line)
                .spaces_only_around_quotes()
                .map(|f| f.map(|f| f.bytes(&mut scratch).to_vec()))
                .collect()
        };
        assert_eq!(split(b" \"a\" ,b").unwrap(), [&b"a"[..], b"b"]);
        assert_eq!(split(b"\t\"a\",b").unwrap(), [&b"\"a\""[..], b"b"]);
        assert!(split(b"\"a\"\t,b")
            .unwrap_err()
            .contains("after a closing quote"));
        assert_eq!(split(b"\ta\t,b").unwrap(), [&b"a"[..], b"b"]);
    }

    #[test]
    fn whole_numbers_are_checked() {
        assert_eq!(parse_int(b"0042"), Some(42));
        assert_eq!(parse_int(b"-7"), Some(-7));
        assert_eq!(parse_int(b"+7"), Some(7));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        for bad in [&b""[..], b"-", b"1.0", b"1e3", b"12 3"] {
            assert_eq!(parse_int(bad), None);
        }
    }

    /// Interns `names` split into chunks at `cuts`, as parallel readers would.
    fn intern_in_chunks(names: &[String], cuts: &[usize], threads: usize) -> (Vec<u32>, Names) {
        let seed = random_seed();
        let mut chunks = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([&names.len()]) {
            let cut = cut.clamp(start, names.len());
            let mut keys = KeyBuckets::new(seed, cut - start);
            for name in &names[start..cut] {
                keys.push(name);
            }
            chunks.push(keys);
            start = cut;
        }
        intern_buckets(&chunks, threads).unwrap()
    }

    #[test]
    fn names_of_any_length_get_codes_in_order_of_first_appearance() {
        let long = "x".repeat(300);
        let names: Vec<String> = [
            "b",
            "a",
            "b",
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "",
            "a",
            &long,
            "é",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (codes, table) = intern_in_chunks(&names, &[3, 5], 2);
        assert_eq!(codes, [0, 1, 0, 2, 3, 1, 4, 5]);
        assert_eq!(
            table.iter().collect::<Vec<_>>(),
            ["b", "a", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "", &long, "é"]
        );
        let (codes, table) = intern_in_chunks(&[], &[], 2);
        assert!(codes.is_empty() && table.is_empty());
        assert_eq!(
            Names::from_names(["x", "y", "x"])
                .iter()
                .collect::<Vec<_>>(),
            ["x", "y"]
        );
    }

    proptest! {
        #[test]
        fn interning_in_buckets_matches_a_hash_map(
            picks in prop::collection::vec(0usize..400, 0..2000),
            cuts in prop::collection::vec(0usize..2000, 0..3),
            threads in 1usize..4,
        ) {
            // Short and long names, so both kinds of record are exercised.
            let names: Vec<String> = picks
                .iter()
                .map(|&p| if p % 3 == 0 { format!("customer-with-a-long-id-{p}") } else { format!("c{p}") })
                .collect();
            let mut cuts = cuts;
            cuts.sort_unstable();
            let (codes, table) = intern_in_chunks(&names, &cuts, threads);
            let mut expected = std::collections::HashMap::new();
            for (name, &code) in names.iter().zip(&codes) {
                let next = expected.len() as u32;
                prop_assert_eq!(*expected.entry(name.as_str()).or_insert(next), code);
                prop_assert_eq!(table.get(code), name.as_str());
            }
            prop_assert_eq!(table.len(), expected.len());
        }

        #[test]
        fn newlines_are_counted(text in "[a\n\x0b\t]{0,80}") {
            prop_assert_eq!(count_newlines(text.as_bytes()), text.matches('\n').count());
        }

        #[test]
        fn find_byte_agrees_with_position(haystack in prop::collection::vec(0u8..4, 0..40), needle in 0u8..4) {
            prop_assert_eq!(find_byte(&haystack, needle), haystack.iter().position(|&b| b == needle));
        }

        #[test]
        fn unquoted_splitting_agrees_with_the_general_splitter(line in "[a ,\t\x01-]{0,40}") {
            let mut out = Vec::new();
            prop_assert!(split_unquoted(line.as_bytes(), &mut out));
            let general: Vec<&[u8]> = fields(line.as_bytes()).map(|f| f.unwrap().raw()).collect();
            prop_assert_eq!(out, general);
        }

        #[test]
        fn chunks_hold_whole_lines_and_the_whole_input(text in "[a\n]{0,60}", parts in 1usize..5) {
            let chunks = line_chunks(text.as_bytes(), parts);
            prop_assert!(chunks.len() <= parts);
            prop_assert_eq!(chunks.concat(), text.as_bytes());
            for chunk in &chunks[..chunks.len() - 1] {
                prop_assert_eq!(chunk.last(), Some(&b'\n'));
            }
        }

        #[test]
        fn a_timestamp_reader_agrees_with_parse_timestamp(
            fields in prop::collection::vec(
                prop::sample::select(vec![
                    "2025-12-01", "2025-12-01 00:00:01", "2025-12-01T23:59:60Z",
                    "2025-12-01 24:00:00", "2025-12-01 00:00", "2025-12-02 00:00:00.5",
                    "2024-02-29 12:00:00", "2025-02-29 12:00:00", "2025-1x-01", "0000-01-01",
                    "1764547200", "+7", "-7", "", "x", "1764547200000",
                ]),
                0..20,
            ),
        ) {
            let mut timestamps = Timestamps::new();
            for field in fields {
                prop_assert_eq!(timestamps.parse(field.as_bytes()), parse_timestamp(field.as_bytes()), "{}", field);
            }
        }

        #[test]
        fn date_times_round_trip(seconds in MIN_TIMESTAMP..=MAX_TIMESTAMP) {
            let text = crate::time::Timestamp::from_millis(seconds * 1000).to_rfc3339();
            // `2026-11-23T12:00:00.000Z`
            prop_assert_eq!(parse_timestamp(text.as_bytes()), Some(seconds));
            prop_assert_eq!(parse_timestamp(&text.as_bytes()[..19]), Some(seconds));
        }
    }
}
