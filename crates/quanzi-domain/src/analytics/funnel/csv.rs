//! Reading the event table from CSV bytes, fast enough that reading 10M events is not the
//! slow part of a funnel.
//!
//! The bytes are cut at line breaks into one chunk per thread; each chunk is parsed at the
//! byte level into columns with its own dictionaries (no allocation per row: names are
//! interned straight from the input bytes), and the chunks' codes are then renumbered into
//! one set of dictionaries, in order of first appearance in the file. Lines, fields,
//! numbers and dates are read by the pieces in [`crate::analytics::columns`].

use super::dictionary::Dictionary;
use super::events::{EventColumns, EventTable};
use crate::analytics::columns::{
    count_newlines, fields, find_byte, line_chunks, parse_int, strip_bom, trim, Fields, Lines,
    Timestamps,
};
use crate::input::InvalidInput;

const MEMBER: &[&str] = &["member_id", "member", "user_id", "distinct_id"];
const TS: &[&str] = &["ts", "timestamp", "time", "event_time"];
const EVENT: &[&str] = &["event", "event_type", "event_name"];

/// Below this many bytes one thread parses everything.
const PARALLEL_BYTES: usize = 1 << 20;

impl EventTable {
    /// Parses `member_id,ts,event[,breakdown]` with a header row, on up to two threads.
    /// See [`Self::from_csv_with_threads`].
    pub fn from_csv(bytes: &[u8]) -> Result<Self, InvalidInput> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        Self::from_csv_with_threads(bytes, threads)
    }

    /// Parses an event table. The header names the columns in this order: the member
    /// (`member_id`, `user_id`, `member` or `distinct_id`), the time (`ts`, `timestamp`,
    /// `time` or `event_time`), the event type (`event`, `event_type` or `event_name`), and
    /// optionally a fourth column of any name (`channel`, `kol`, `campaign`) to break
    /// funnels down by. Times are integer seconds since the epoch or
    /// `YYYY-MM-DD HH:MM:SS` (a `T` instead of the space, a fraction of a second and a
    /// trailing `Z` are accepted; no other offsets: the times are taken as UTC), or a bare
    /// `YYYY-MM-DD` for midnight. Fields may be double-quoted (`""` is a quote inside);
    /// a record must fit on one line, and a quote inside an unquoted field is kept. Blank lines, a byte-order mark and `\r\n` endings are
    /// accepted. Errors name the 1-based line and the column as the header spells it.
    pub fn from_csv_with_threads(bytes: &[u8], threads: usize) -> Result<Self, InvalidInput> {
        let bytes = strip_bom(bytes);
        let (names, body_at) = header(bytes)?;
        let body = &bytes[body_at..];
        let width = names.len();
        let threads = if body.len() < PARALLEL_BYTES {
            1
        } else {
            threads.max(1)
        };
        let chunks = line_chunks(body, threads);
        let parsed: Vec<Result<Chunk, ChunkError>> = if chunks.len() == 1 {
            vec![parse_chunk(chunks[0], width)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunks
                    .iter()
                    .map(|&chunk| scope.spawn(move || parse_chunk(chunk, width)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a csv thread panicked"))
                    .collect()
            })
        };
        let mut ok = Vec::with_capacity(parsed.len());
        let mut chunk_at = body_at;
        for (result, chunk) in parsed.into_iter().zip(&chunks) {
            match result {
                Ok(parsed) => ok.push(parsed),
                Err(error) => {
                    // Every chunk but the last ends with a line break.
                    let line = count_newlines(&bytes[..chunk_at]) + error.line;
                    let field = match error.column {
                        Some(column) => names[column].clone(),
                        None => "csv".to_owned(),
                    };
                    return Err(InvalidInput::new(
                        field,
                        format!("line {line}: {}", error.message),
                    ));
                }
            }
            chunk_at += chunk.len();
        }
        let breakdown_name = (width == 4).then(|| names[3].clone());
        merge(ok, breakdown_name)
    }
}

/// The header's column names and where the body starts.
fn header(bytes: &[u8]) -> Result<(Vec<String>, usize), InvalidInput> {
    let expected = "expected a header like member_id,ts,event[,channel]";
    let mut at = 0;
    // Not `Lines`: a line of only `\r` before the header has always been refused here.
    while at < bytes.len() {
        let end = find_byte(&bytes[at..], b'\n').map_or(bytes.len(), |i| at + i);
        let line = trim(&bytes[at..end]);
        let next = (end + 1).min(bytes.len());
        if line.is_empty() {
            at = next;
            continue;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| InvalidInput::new("csv", "line 1: the header is not UTF-8"))?;
        let names: Vec<String> = line
            .split(',')
            .map(|n| n.trim().trim_matches('"').trim().to_owned())
            .collect();
        let is = |i: usize, accepted: &[&str]| {
            names
                .get(i)
                .is_some_and(|n| accepted.iter().any(|a| n.eq_ignore_ascii_case(a)))
        };
        if !(3..=4).contains(&names.len()) || !is(0, MEMBER) || !is(1, TS) || !is(2, EVENT) {
            return Err(InvalidInput::new(
                "csv",
                format!("the header is `{line}`; {expected}"),
            ));
        }
        if names.len() == 4 && names[3].is_empty() {
            return Err(InvalidInput::new(
                "csv",
                "the fourth column (the breakdown) needs a name",
            ));
        }
        return Ok((names, next));
    }
    Err(InvalidInput::new("csv", format!("is empty; {expected}")))
}

/// One chunk's rows, with codes from its own dictionaries.
struct Chunk {
    member: Vec<u32>,
    ts: Vec<i64>,
    event: Vec<u32>,
    breakdown: Vec<u32>,
    members: Dictionary,
    events: Dictionary,
    breakdowns: Dictionary,
}

struct ChunkError {
    /// The bad line, numbered from 1 in the chunk.
    line: usize,
    column: Option<usize>,
    message: String,
}

fn parse_chunk<'a>(chunk: &'a [u8], width: usize) -> Result<Chunk, ChunkError> {
    let rows = estimate_rows(chunk);
    let mut out = Chunk {
        member: Vec::with_capacity(rows),
        ts: Vec::with_capacity(rows),
        event: Vec::with_capacity(rows),
        breakdown: Vec::with_capacity(if width == 4 { rows } else { 0 }),
        // Event logs have a handful of events per member: start the member table big
        // enough for most files instead of growing it a dozen times.
        members: Dictionary::with_capacity(rows / 8),
        events: Dictionary::new(),
        breakdowns: Dictionary::new(),
    };
    let mut timestamps = Timestamps::new();
    let mut scratch = Vec::new();
    let mut pending = Pending::new();
    let (mut event_cache, mut breakdown_cache) = (FewNames::new(), FewNames::new());
    for (line_number, line) in Lines::new(chunk, 1) {
        let fail = |column: Option<usize>, message: String| ChunkError {
            line: line_number,
            column,
            message,
        };
        let mut fields = fields(line).spaces_only_around_quotes();
        let next = |fields: &mut Fields<'a>| {
            let field = fields.next().unwrap_or(Err("has too few fields"));
            field.map_err(|message| fail(None, message.to_owned()))
        };
        let member = next(&mut fields)?.bytes(&mut scratch);
        let member = nonempty(member, "member id").map_err(|m| fail(Some(0), m))?;
        // Member ids are looked up a batch at a time (see `Pending`); one with `""` inside
        // lives in `scratch`, not in the chunk, and is looked up at once.
        let member = match offset_in(chunk, member) {
            Some(offset) => {
                pending.push(offset, member.len(), out.member.len());
                u32::MAX
            }
            None => {
                // Codes follow first appearance: look up the ids before this one first.
                pending.resolve(chunk, &mut out.members, &mut out.member)?;
                out.members
                    .intern(member)
                    .ok_or_else(|| fail(Some(0), "is not UTF-8".to_owned()))?
            }
        };
        let ts = next(&mut fields)?.bytes(&mut scratch);
        let ts = parse_ts(ts, &mut timestamps).ok_or_else(|| {
            fail(
                Some(1),
                format!(
                    "`{}` is not a time: use seconds since the epoch or YYYY-MM-DD HH:MM:SS",
                    String::from_utf8_lossy(ts)
                ),
            )
        })?;
        let event = next(&mut fields)?.bytes(&mut scratch);
        let event = nonempty(event, "event").map_err(|m| fail(Some(2), m))?;
        let event = event_cache
            .intern(event, &mut out.events)
            .ok_or_else(|| fail(Some(2), "is not UTF-8".to_owned()))?;
        if width == 4 {
            let value = next(&mut fields)?.bytes(&mut scratch);
            let value = breakdown_cache
                .intern(trim(value), &mut out.breakdowns)
                .ok_or_else(|| fail(Some(3), "is not UTF-8".to_owned()))?;
            out.breakdown.push(value);
        }
        let extra = fields
            .try_fold(0, |count, field| field.map(|_| count + 1))
            .map_err(|m| fail(None, m.to_owned()))?;
        if extra > 0 {
            return Err(fail(
                None,
                format!("has {} fields, the header has {width}", width + extra),
            ));
        }
        out.member.push(member);
        out.ts.push(ts);
        out.event.push(event);
        if pending.is_full() {
            pending.resolve(chunk, &mut out.members, &mut out.member)?;
        }
    }
    pending.resolve(chunk, &mut out.members, &mut out.member)?;
    Ok(out)
}

/// A small cache in front of a dictionary for columns with a few distinct values (event
/// types, channels), which every row looks up: names of up to 16 bytes are compared as two
/// words and a length, with no hashing of the bytes and no call into the dictionary.
struct FewNames {
    /// `(first 8 bytes, next 8 bytes, length, code)`; `code == u32::MAX` is empty.
    slots: [(u64, u64, usize, u32); 64],
}

impl FewNames {
    fn new() -> Self {
        Self {
            slots: [(0, 0, 0, u32::MAX); 64],
        }
    }

    #[inline]
    fn intern(&mut self, name: &[u8], dictionary: &mut Dictionary) -> Option<u32> {
        if name.len() > 16 {
            return dictionary.intern(name);
        }
        let mut padded = [0u8; 16];
        padded[..name.len()].copy_from_slice(name);
        let low = u64::from_le_bytes(padded[..8].try_into().expect("8 bytes"));
        let high = u64::from_le_bytes(padded[8..].try_into().expect("8 bytes"));
        let mix =
            (low ^ high.rotate_left(29) ^ name.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &mut self.slots[(mix >> 58) as usize];
        if slot.3 != u32::MAX && slot.0 == low && slot.1 == high && slot.2 == name.len() {
            return Some(slot.3);
        }
        let code = dictionary.intern(name)?;
        *slot = (low, high, name.len(), code);
        Some(code)
    }
}

/// Where `inner` starts in `outer`, if it is a slice of it.
fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let offset = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    (offset < outer.len()).then_some(offset)
}

/// Member ids waiting to be interned. Looking a million distinct ids up in a table costs a
/// cache miss each; hashing a batch first, touching their slots, and only then looking
/// them up lets the processor wait for many misses at once.
struct Pending {
    /// `(offset in the chunk, length, row)`.
    names: Vec<(usize, usize, usize)>,
    hashes: Vec<u64>,
}

impl Pending {
    const BATCH: usize = 64;

    fn new() -> Self {
        Self {
            names: Vec::with_capacity(Self::BATCH),
            hashes: Vec::with_capacity(Self::BATCH),
        }
    }

    fn push(&mut self, offset: usize, len: usize, row: usize) {
        self.names.push((offset, len, row));
    }

    fn is_full(&self) -> bool {
        self.names.len() == Self::BATCH
    }

    /// Interns the waiting ids and writes their codes into `rows`.
    fn resolve(
        &mut self,
        chunk: &[u8],
        members: &mut Dictionary,
        rows: &mut [u32],
    ) -> Result<(), ChunkError> {
        self.hashes.clear();
        self.hashes.extend(
            self.names
                .iter()
                .map(|&(at, len, _)| members.hash(&chunk[at..at + len])),
        );
        let touched = self
            .hashes
            .iter()
            .fold(0u64, |sink, &hash| sink ^ members.touch(hash));
        std::hint::black_box(touched);
        for (&(at, len, row), &hash) in self.names.iter().zip(&self.hashes) {
            rows[row] = members
                .intern_hashed(&chunk[at..at + len], hash)
                .ok_or_else(|| ChunkError {
                    line: count_newlines(&chunk[..at]) + 1,
                    column: Some(0),
                    message: "is not UTF-8".to_owned(),
                })?;
        }
        self.names.clear();
        Ok(())
    }
}

/// `field` trimmed, if anything is left. Unlike the orders reader, the funnel reader trims
/// inside quotes too, as it always has.
fn nonempty<'a>(field: &'a [u8], what: &str) -> Result<&'a [u8], String> {
    let field = trim(field);
    if field.is_empty() {
        Err(format!("the {what} is empty"))
    } else {
        Ok(field)
    }
}

/// Rows in a chunk, guessed from the line length of its first 64 KiB, so the columns are
/// allocated once (counting every line would cost a pass over the chunk).
fn estimate_rows(chunk: &[u8]) -> usize {
    let sample = &chunk[..chunk.len().min(1 << 16)];
    let lines = count_newlines(sample).max(1);
    let per_line = (sample.len() / lines).max(1);
    chunk.len() / per_line + chunk.len() / per_line / 32 + 16
}

/// Epoch seconds, or `YYYY-MM-DD[ T]HH:MM:SS[.fff][Z]` / `YYYY-MM-DD` as UTC.
fn parse_ts(field: &[u8], timestamps: &mut Timestamps) -> Option<i64> {
    let field = trim(field);
    // Unlike the orders reader's `Timestamps::parse`, the funnel reader has always taken
    // up to 18 digits of epoch seconds unsigned by `+` and with no range check, and
    // refused a leap second: kept so that it accepts the same files.
    if field.len() >= 10 && field[4] == b'-' {
        if field.get(17..19) == Some(&b"60"[..]) {
            return None;
        }
        return timestamps.date_time(field);
    }
    let unsigned = field.strip_prefix(b"-").unwrap_or(field);
    if unsigned.len() > 18 || unsigned.first() == Some(&b'+') {
        return None;
    }
    parse_int(field)
}

/// Renumbers every chunk's codes into the first chunk's dictionaries and joins the
/// columns.
fn merge(chunks: Vec<Chunk>, breakdown_name: Option<String>) -> Result<EventTable, InvalidInput> {
    let mut chunks = chunks.into_iter();
    let first = chunks.next().expect("at least one chunk");
    let rest: Vec<Chunk> = chunks.collect();
    let Chunk {
        mut member,
        mut ts,
        mut event,
        mut breakdown,
        mut members,
        mut events,
        mut breakdowns,
    } = first;
    let total: usize = member.len() + rest.iter().map(|c| c.member.len()).sum::<usize>();
    member.reserve_exact(total - member.len());
    ts.reserve_exact(total - ts.len());
    event.reserve_exact(total - event.len());
    if breakdown_name.is_some() {
        breakdown.reserve_exact(total - breakdown.len());
    }
    for chunk in rest {
        let member_codes = renumber(&mut members, &chunk.members);
        let event_codes = renumber(&mut events, &chunk.events);
        let breakdown_codes = renumber(&mut breakdowns, &chunk.breakdowns);
        // The member column is the slow one (a lookup per row in a table of a million
        // codes): renumber it beside the others.
        std::thread::scope(|scope| {
            scope.spawn(|| member.extend(chunk.member.iter().map(|&m| member_codes[m as usize])));
            ts.extend_from_slice(&chunk.ts);
            event.extend(chunk.event.iter().map(|&e| event_codes[e as usize]));
            breakdown.extend(chunk.breakdown.iter().map(|&b| breakdown_codes[b as usize]));
        });
    }
    let columns = EventColumns::with_counts(
        member,
        ts,
        event,
        breakdown_name.is_some().then_some(breakdown),
        members.len() as u32,
        breakdowns.len() as u32,
    )?;
    Ok(EventTable {
        columns,
        members,
        events,
        breakdown: breakdown_name.map(|name| (name, breakdowns)),
    })
}

/// The code in `into` of each of `from`'s names, adding the new ones; a batch at a time,
/// as `Pending` does, since most of a million names miss the cache.
fn renumber(into: &mut Dictionary, from: &Dictionary) -> Vec<u32> {
    let mut codes = Vec::with_capacity(from.len());
    let mut hashes = Vec::with_capacity(Pending::BATCH);
    let all = 0..from.len() as u32;
    for start in all.clone().step_by(Pending::BATCH) {
        let batch = start..(start + Pending::BATCH as u32).min(all.end);
        hashes.clear();
        hashes.extend(batch.clone().map(|code| into.hash(from.bytes(code))));
        let touched = hashes
            .iter()
            .fold(0u64, |sink, &hash| sink ^ into.touch(hash));
        std::hint::black_box(touched);
        for (code, &hash) in batch.zip(&hashes) {
            let name = from.bytes(code);
            codes.push(
                into.intern_hashed(name, hash)
                    .expect("names were checked to be UTF-8"),
            );
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(table: &EventTable, column: &[u32], dictionary: &Dictionary) -> Vec<String> {
        let _ = table;
        column
            .iter()
            .map(|&c| dictionary.name(c).to_owned())
            .collect()
    }

    #[test]
    fn both_time_formats_quotes_and_blank_lines_are_read() {
        let csv = "\u{feff}member_id,ts,event,channel\r\n\
                   u1,1700000000,view,wechat\r\n\
                   \n\
                   \"u2\",2023-11-14 22:13:21,\"add \"\"to\"\" cart\", douyin \r\n\
                   u1,2023-11-14T22:13:22.5Z,view,\r\n\
                   u3,1970-01-02,view,wechat";
        let table = EventTable::from_csv(csv.as_bytes()).unwrap();
        let columns = table.columns();
        assert_eq!(
            columns.ts(),
            [1_700_000_000, 1_700_000_001, 1_700_000_002, 86_400]
        );
        assert_eq!(columns.member(), [0, 1, 0, 2]);
        assert_eq!(
            names(&table, columns.event(), table.events()),
            ["view", "add \"to\" cart", "view", "view"]
        );
        let breakdowns = table.breakdowns().unwrap();
        assert_eq!(
            names(&table, columns.breakdown().unwrap(), breakdowns),
            ["wechat", "douyin", "", "wechat"]
        );
        assert_eq!(table.breakdown_name(), Some("channel"));
        assert_eq!(columns.member_count(), 3);
    }

    #[test]
    fn parsing_in_chunks_gives_the_same_table() {
        let mut csv = String::from("user_id,timestamp,event_type\n");
        for i in 0..60_000u32 {
            csv.push_str(&format!(
                "m{},{},e{}\n",
                (i * 7919) % 5003,
                1_700_000_000 + i,
                i % 7
            ));
        }
        let one = EventTable::from_csv_with_threads(csv.as_bytes(), 1).unwrap();
        let three = EventTable::from_csv_with_threads(csv.as_bytes(), 3).unwrap();
        assert_eq!(one, three);
        assert_eq!(one.columns().len(), 60_000);
        assert_eq!(one.members().len(), 5003);
        assert_eq!(one.breakdowns(), None);
    }

    #[test]
    fn errors_name_the_line_and_the_column() {
        let error = |csv: &str| EventTable::from_csv(csv.as_bytes()).unwrap_err();
        let e = error("member_id,ts,event\nu1,1,view\n\nu2,yesterday,view\n");
        assert_eq!(e.field(), "ts");
        assert!(e.message().starts_with("line 4: `yesterday`"), "{e}");
        let e = error("member_id,ts,event\nu1,2023-02-30 00:00:00,view\n");
        assert_eq!(e.field(), "ts");
        let e = error("member_id,ts,event\nu1,2023-02-03 24:00:00,view\n");
        assert_eq!(e.field(), "ts");
        let e = error("member_id,ts,event\nu1,1,view,extra\n");
        assert!(e.message().contains("has 4 fields"), "{e}");
        let e = error("member_id,ts,event,channel\nu1,1,view\n");
        assert!(e.message().contains("too few"), "{e}");
        let e = error("member_id,time,event\n,1,view\n");
        assert_eq!(e.field(), "member_id");
        let e = error("member_id,ts,event\nu1,1,\"view\n");
        assert!(e.message().contains("not closed"), "{e}");
        assert!(error("").message().contains("empty"));
        assert!(error("id,ts,event\n").message().contains("header"));
        assert!(error("member_id,ts\n").message().contains("header"));
        let table = EventTable::from_csv(b"member_id,ts,event\n").unwrap();
        assert!(table.columns().is_empty());
    }
}
