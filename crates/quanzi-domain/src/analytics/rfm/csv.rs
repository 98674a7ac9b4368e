//! Reading the orders table from CSV, fast: on several threads, without allocating per row.

use super::orders::Orders;
use crate::analytics::columns::{
    count_newlines, fields, find_byte, intern_buckets, line_chunks, parse_int, random_seed,
    split_unquoted, strip_bom, KeyBuckets, Lines, Names, Timestamps, MAX_TIMESTAMP,
};
use crate::input::InvalidInput;

/// Accepted header names per column; the first is the documented one.
const CUSTOMER: &[&str] = &["customer_id", "customer", "member_id"];
const TS: &[&str] = &["ts", "timestamp", "time"];
const AMOUNT: &[&str] = &["amount_fen"];
const REFUNDED: &[&str] = &["refunded_fen", "refund_fen"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Customer,
    Ts,
    Amount,
    Refunded,
    Other,
}

/// What each field of a record is, and the header's spelling of each column for errors.
struct Layout {
    roles: Vec<Role>,
    customer: String,
    ts: String,
    amount: String,
    refunded: Option<String>,
}

impl Layout {
    fn parse(header: &[u8], line: usize) -> Result<Self, InvalidInput> {
        let mut roles = Vec::new();
        let mut names: [Option<String>; 4] = Default::default();
        let mut scratch = Vec::new();
        for field in fields(header) {
            let field = field
                .map_err(|message| InvalidInput::new("csv", format!("line {line}: {message}")))?;
            let name = String::from_utf8_lossy(field.bytes(&mut scratch))
                .trim()
                .to_owned();
            let matches = |aliases: &[&str]| aliases.iter().any(|a| name.eq_ignore_ascii_case(a));
            let (role, slot) = if matches(CUSTOMER) {
                (Role::Customer, 0)
            } else if matches(TS) {
                (Role::Ts, 1)
            } else if matches(AMOUNT) {
                (Role::Amount, 2)
            } else if matches(REFUNDED) {
                (Role::Refunded, 3)
            } else {
                roles.push(Role::Other);
                continue;
            };
            if let Some(earlier) = &names[slot] {
                return Err(InvalidInput::new(
                    "csv",
                    format!("line {line}: `{earlier}` and `{name}` name the same column"),
                ));
            }
            names[slot] = Some(name);
            roles.push(role);
        }
        let [customer, ts, amount, refunded] = names;
        let missing = |aliases: &[&str]| {
            InvalidInput::new(
                "csv",
                format!(
                    "line {line}: the header must name a `{}` column \
                     (expected order_id,customer_id,ts,amount_fen[,refunded_fen])",
                    aliases[0]
                ),
            )
        };
        Ok(Self {
            customer: customer.ok_or_else(|| missing(CUSTOMER))?,
            ts: ts.ok_or_else(|| missing(TS))?,
            amount: amount.ok_or_else(|| missing(AMOUNT))?,
            refunded,
            roles,
        })
    }
}

/// An orders CSV read in parts, each part a run of whole lines parsed on its own thread as
/// it comes in (the command line streams a file this way in blocks, so the file never has
/// to be in memory at once). [`Orders::from_csv`] does the same with the bytes at hand.
///
/// The caller reads the header with [`OrdersCsv::from_header`], splits the rest of the
/// file at line breaks into parts, feeds each part's bytes in order to its
/// [`OrdersPart`], and hands the parts, in file order, to [`OrdersCsv::assemble`].
pub struct OrdersCsv {
    layout: Layout,
    header_line: usize,
    body_start: usize,
    seed: u64,
}

impl OrdersCsv {
    /// Reads the header from the start of the file: `head` must hold the whole header line
    /// with its line break, or be the whole file.
    pub fn from_header(head: &[u8]) -> Result<Self, InvalidInput> {
        let bom = head.len() - strip_bom(head).len();
        let mut lines = Lines::new(&head[bom..], 1);
        let Some((header_line, header)) = lines.next() else {
            return Err(InvalidInput::new(
                "csv",
                "is empty; expected a header like order_id,customer_id,ts,amount_fen,refunded_fen",
            ));
        };
        let layout = Layout::parse(header, header_line)?;
        Ok(Self {
            layout,
            header_line,
            body_start: head.len() - lines.rest().len(),
            seed: random_seed(),
        })
    }

    /// Where the first line after the header starts, in bytes from the start of the file.
    pub fn body_start(&self) -> usize {
        self.body_start
    }

    /// A parser for the next part of the body, with room for about `rows` rows.
    pub fn part(&self, rows: usize) -> OrdersPart<'_> {
        OrdersPart {
            layout: &self.layout,
            ts: Vec::with_capacity(rows),
            amount: Vec::with_capacity(rows),
            refunded: self
                .layout
                .refunded
                .is_some()
                .then(|| Vec::with_capacity(rows)),
            keys: KeyBuckets::new(self.seed, rows),
            timestamps: Timestamps::new(),
            lines: 0,
            error: None,
        }
    }

    /// The orders of `parts` (in file order) and the customer ids behind their codes, or
    /// the first bad line, on up to `threads` threads.
    pub fn assemble(
        &self,
        parts: Vec<OrdersPart<'_>>,
        threads: usize,
    ) -> Result<(Orders, Names), InvalidInput> {
        let mut first_line = self.header_line;
        for part in &parts {
            if let Some((line, bad)) = &part.error {
                return Err(InvalidInput::new(
                    bad.field.clone(),
                    format!("line {}: {}", first_line + line, bad.message),
                ));
            }
            first_line += part.lines;
        }
        let rows: usize = parts.iter().map(|p| p.ts.len()).sum();
        if rows > Orders::MAX_ORDERS {
            return Err(InvalidInput::new(
                "csv",
                format!("has more than {} orders", Orders::MAX_ORDERS),
            ));
        }
        let mut keys = Vec::with_capacity(parts.len());
        let mut parts = parts.into_iter();
        let (mut ts, mut amount, mut refunded) = match parts.next() {
            Some(first) => {
                keys.push(first.keys);
                (first.ts, first.amount, first.refunded)
            }
            None => (
                Vec::new(),
                Vec::new(),
                self.layout.refunded.is_some().then(Vec::new),
            ),
        };
        ts.reserve_exact(rows - ts.len());
        amount.reserve_exact(rows - amount.len());
        if let Some(refunded) = &mut refunded {
            refunded.reserve_exact(rows - refunded.len());
        }
        for part in parts {
            ts.extend_from_slice(&part.ts);
            amount.extend_from_slice(&part.amount);
            if let (Some(all), Some(more)) = (&mut refunded, &part.refunded) {
                all.extend_from_slice(more);
            }
            keys.push(part.keys);
        }
        let (codes, names) = intern_buckets(&keys, threads)
            .map_err(|message| InvalidInput::new(self.layout.customer.clone(), message))?;
        let count = names.len() as u32;
        Ok((Orders::checked(codes, ts, amount, refunded, count), names))
    }
}

/// A run of whole lines of an orders CSV, parsed as its bytes arrive.
pub struct OrdersPart<'a> {
    layout: &'a Layout,
    ts: Vec<i64>,
    amount: Vec<i64>,
    refunded: Option<Vec<i64>>,
    keys: KeyBuckets,
    timestamps: Timestamps,
    /// Lines seen so far, blank ones included.
    lines: usize,
    /// The first bad line, numbered within the part, and what is wrong with it.
    error: Option<(usize, Bad)>,
}

impl OrdersPart<'_> {
    /// Parses the whole lines at the start of `bytes` and returns how many bytes they
    /// take; the rest, the start of a line, should come again with what follows it. With
    /// `last`, the part ends with `bytes` and all of it is parsed. After a bad line the
    /// part takes nothing more (see [`Self::failed`]); [`OrdersCsv::assemble`] reports it.
    pub fn feed(&mut self, bytes: &[u8], last: bool) -> usize {
        if self.error.is_some() {
            return bytes.len();
        }
        let used = if last {
            bytes.len()
        } else {
            bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
        };
        let mut lines = Lines::new(&bytes[..used], self.lines + 1);
        let mut spans: Vec<&[u8]> = Vec::with_capacity(self.layout.roles.len() + 1);
        for (line, record) in &mut lines {
            let parsed = if let Some(order) = fast_record(&self.layout.roles, record) {
                Ok(order)
            } else if split_unquoted(record, &mut spans) {
                parse_record(self.layout, &spans, &mut self.timestamps)
            } else {
                match parse_quoted(self.layout, record, &mut self.timestamps) {
                    Ok((customer, order)) => {
                        self.push(&customer, &order);
                        continue;
                    }
                    Err(bad) => Err(bad),
                }
            };
            match parsed {
                Ok(order) => self.push(order.customer, &order),
                Err(bad) => {
                    self.error = Some((line, bad));
                    return bytes.len();
                }
            }
        }
        self.lines = lines.number();
        used
    }

    fn push(&mut self, customer: &str, order: &Record<'_>) {
        self.keys.push(customer);
        self.ts.push(order.ts);
        self.amount.push(order.amount);
        if let Some(refunded) = &mut self.refunded {
            refunded.push(order.refund);
        }
    }

    /// Whether a bad line was met (and the rest of the part may be skipped).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Orders parsed so far.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

/// What is wrong with a line: the column as the header spells it (`csv` for the line as a
/// whole) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bad {
    field: String,
    message: String,
}

fn bad(field: &str, message: impl Into<String>) -> Bad {
    Bad {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl Orders {
    /// Parses an orders CSV on up to `threads` threads, returning the orders and the
    /// customer ids behind their codes (numbered in order of first appearance).
    ///
    /// The header names the columns in any order: `customer_id`, `ts` and `amount_fen` are
    /// required, `refunded_fen` is optional (an empty field is 0), others (`order_id`) are
    /// ignored. Each row is one order; order ids are not checked for repeats. `ts` is epoch
    /// seconds or `YYYY-MM-DD HH:MM:SS` in UTC; amounts are whole fen, not negative, and a
    /// refund is at most its order's amount. Fields may be double-quoted (`""` is a quote
    /// inside); a record must fit on one line. Blank lines, a byte-order mark and `\r\n`
    /// endings are accepted. Errors name the 1-based line and the column as the header
    /// spells it.
    pub fn from_csv(bytes: &[u8], threads: usize) -> Result<(Orders, Names), InvalidInput> {
        let csv = OrdersCsv::from_header(bytes)?;
        let chunks = line_chunks(&bytes[csv.body_start()..], threads);
        let parts: Vec<OrdersPart<'_>> = std::thread::scope(|scope| {
            let workers: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    let csv = &csv;
                    scope.spawn(move || {
                        // Lines bound the rows, so the columns never grow.
                        let mut part = csv.part(count_newlines(chunk) + 1);
                        part.feed(chunk, true);
                        part
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("parsing does not panic"))
                .collect()
        });
        csv.assemble(parts, threads)
    }
}

/// A record with quoted fields: unquoted into owned buffers (rare, so allocating is
/// fine), the customer id owned as well since `""` inside makes it differ from the bytes.
fn parse_quoted(
    layout: &Layout,
    record: &[u8],
    timestamps: &mut Timestamps,
) -> Result<(String, Record<'static>), Bad> {
    let mut scratch = Vec::new();
    let owned = fields(record)
        .map(|field| field.map(|f| f.bytes(&mut scratch).to_vec()))
        .collect::<Result<Vec<Vec<u8>>, _>>()
        .map_err(|message| bad("csv", message))?;
    let unquoted: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let order = parse_record(layout, &unquoted, timestamps)?;
    Ok((
        order.customer.to_owned(),
        Record {
            customer: "",
            ts: order.ts,
            amount: order.amount,
            refund: order.refund,
        },
    ))
}

/// One order, its customer id borrowed from the record.
#[derive(Debug, PartialEq, Eq)]
struct Record<'a> {
    customer: &'a str,
    ts: i64,
    amount: i64,
    refund: i64,
}

/// The common case in one pass: every number plain digits (epoch seconds), no quotes, no
/// spaces, a valid order. `None` sends the record to the general path, which also explains
/// what is wrong with it.
#[inline]
fn fast_record<'a>(roles: &[Role], line: &'a [u8]) -> Option<Record<'a>> {
    let mut record = Record {
        customer: "",
        ts: 0,
        amount: 0,
        refund: 0,
    };
    let mut rest = line;
    for (index, role) in roles.iter().enumerate() {
        let end = match role {
            Role::Ts => {
                let (ts, end) = leading_digits(rest)?;
                if ts > MAX_TIMESTAMP {
                    return None;
                }
                record.ts = ts;
                end
            }
            Role::Amount => {
                let (amount, end) = leading_digits(rest)?;
                record.amount = amount;
                end
            }
            Role::Refunded => match rest.first() {
                None | Some(b',') => 0,
                Some(_) => {
                    let (refund, end) = leading_digits(rest)?;
                    record.refund = refund;
                    end
                }
            },
            Role::Customer | Role::Other => {
                let end = find_byte(rest, b',').unwrap_or(rest.len());
                let field = &rest[..end];
                if matches!(field.first(), Some(b'"' | b' ' | b'\t'))
                    || matches!(field.last(), Some(b' ' | b'\t'))
                {
                    return None;
                }
                if *role == Role::Customer {
                    if field.is_empty() {
                        return None;
                    }
                    record.customer = std::str::from_utf8(field).ok()?;
                }
                end
            }
        };
        // A field ends at a comma, the last one at the end of the line.
        if index + 1 == roles.len() {
            if end != rest.len() {
                return None;
            }
        } else {
            if rest.get(end) != Some(&b',') {
                return None;
            }
            rest = &rest[end + 1..];
        }
    }
    (record.refund <= record.amount).then_some(record)
}

/// The number written by the digits `bytes` starts with (at most 18, so no overflow), and
/// where they end; `None` if it does not start with a digit or has more.
#[inline]
fn leading_digits(bytes: &[u8]) -> Option<(i64, usize)> {
    let mut value = 0i64;
    for (i, &b) in bytes.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return (i > 0).then_some((value, i));
        }
        if i == 18 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    (!bytes.is_empty()).then_some((value, bytes.len()))
}

/// Checks and converts one record's fields.
fn parse_record<'a>(
    layout: &Layout,
    fields: &[&'a [u8]],
    timestamps: &mut Timestamps,
) -> Result<Record<'a>, Bad> {
    let at = |field: &str, message: String| bad(field, message);
    let width = layout.roles.len();
    if fields.len() != width {
        return Err(at(
            "csv",
            format!("has {} fields, the header has {width}", fields.len()),
        ));
    }
    let mut record = Record {
        customer: "",
        ts: 0,
        amount: 0,
        refund: 0,
    };
    for (role, &raw) in layout.roles.iter().zip(fields) {
        match role {
            Role::Customer => {
                // Most ids are ASCII, which is UTF-8 and quick to check.
                record.customer = if raw.is_ascii() {
                    std::str::from_utf8(raw).unwrap_or_default()
                } else {
                    std::str::from_utf8(raw)
                        .map_err(|_| at(&layout.customer, "is not UTF-8".to_owned()))?
                };
                if record.customer.is_empty() {
                    return Err(at(&layout.customer, "is empty".to_owned()));
                }
            }
            Role::Ts => {
                record.ts = timestamps.parse(raw).ok_or_else(|| {
                    at(
                        &layout.ts,
                        format!(
                            "`{}` is not a time: use epoch seconds or YYYY-MM-DD HH:MM:SS (UTC)",
                            String::from_utf8_lossy(raw)
                        ),
                    )
                })?;
            }
            Role::Amount => {
                record.amount = parse_fen(raw).map_err(|message| at(&layout.amount, message))?;
            }
            Role::Refunded if raw.is_empty() => {}
            Role::Refunded => {
                let name = layout.refunded.as_deref().unwrap_or("refunded_fen");
                record.refund = parse_fen(raw).map_err(|message| at(name, message))?;
            }
            Role::Other => {}
        }
    }
    if record.refund > record.amount {
        let name = layout.refunded.as_deref().unwrap_or("refunded_fen");
        return Err(at(
            name,
            format!(
                "{} is more than the order's amount ({})",
                record.refund, record.amount
            ),
        ));
    }
    Ok(record)
}

fn parse_fen(raw: &[u8]) -> Result<i64, String> {
    match parse_int(raw) {
        Some(fen) if fen >= 0 => Ok(fen),
        Some(_) => Err(format!(
            "{} must not be negative",
            String::from_utf8_lossy(raw)
        )),
        None => Err(format!(
            "`{}` is not a whole number of fen",
            String::from_utf8_lossy(raw)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, threads: usize) -> Result<(Orders, Names), InvalidInput> {
        Orders::from_csv(text.as_bytes(), threads)
    }

    #[test]
    fn columns_in_any_order_with_quotes_and_date_times_are_read() {
        let text = "\u{feff}order_id,ts,customer_id,amount_fen,refunded_fen,note\r\n\
                    o1,1764547200,c1,1000,0,x\r\n\
                    \r\n\
                    o2,2025-12-01 00:00:10,\"c,2\",2500,,\"y, z\"\r\n\
                    o3,2025-12-02,c1,300,300,\n";
        for threads in 1..=3 {
            let (orders, names) = read(text, threads).unwrap();
            assert_eq!(names.iter().collect::<Vec<_>>(), ["c1", "c,2"]);
            assert_eq!(orders.customer(), [0, 1, 0]);
            assert_eq!(orders.ts(), [1_764_547_200, 1_764_547_210, 1_764_633_600]);
            assert_eq!(orders.amount_fen(), [1000, 2500, 300]);
            assert_eq!(orders.refunded_fen(), Some(&[0, 0, 300][..]));
            assert_eq!(orders.customer_count(), 2);
        }
        let (orders, _) = read("customer_id,ts,amount_fen\na,1,2", 2).unwrap();
        assert_eq!(orders.refunded_fen(), None);
        assert_eq!(orders.len(), 1);
        let (orders, names) = read("customer_id,ts,amount_fen\n", 2).unwrap();
        assert!(orders.is_empty() && names.is_empty());
    }

    #[test]
    fn many_rows_on_several_threads_keep_file_order() {
        let mut text = String::from("order_id,customer_id,ts,amount_fen\n");
        for i in 0..5000 {
            text.push_str(&format!("o{i},c{},{},{}\n", (i * 7) % 613, 1000 + i, i));
            if i % 997 == 0 {
                text.push('\n');
            }
        }
        let (one, names_one) = read(&text, 1).unwrap();
        let (four, names_four) = read(&text, 4).unwrap();
        assert_eq!(one, four);
        assert_eq!(names_one, names_four);
        assert_eq!(one.len(), 5000);
        assert_eq!(names_one.len(), 613);
        assert_eq!(names_one.get(1), "c7");
        assert_eq!(one.ts()[4999], 5999);
    }

    #[test]
    fn errors_name_the_line_and_the_column_as_spelled() {
        let header = "order_id,Customer_ID,ts,amount_fen,refunded_fen\n";
        let cases = [
            ("o1,c1,1,100,0\no2,c2,soon,100,0\n", "ts", "line 3:"),
            ("o1,c1,1,100,0\n\no2,c2,1,1.5,0\n", "amount_fen", "line 4:"),
            ("o1,c1,1,-100,0\n", "amount_fen", "line 2:"),
            ("o1,c1,1,100,101\n", "refunded_fen", "line 2:"),
            ("o1,,1,100,0\n", "Customer_ID", "line 2:"),
            ("o1,c1,1,100\n", "csv", "line 2:"),
            ("o1,c1,1,100,0,9\n", "csv", "line 2:"),
            ("o1,\"c1,1,100,0\n", "csv", "line 2:"),
        ];
        for (body, field, line) in cases {
            for threads in [1, 2] {
                let error = read(&format!("{header}{body}"), threads).unwrap_err();
                assert_eq!(error.field(), field, "{body}: {error}");
                assert!(error.message().starts_with(line), "{body}: {error}");
            }
        }
        let error = read("o,c,1,1\n", 1).unwrap_err();
        assert!(error.message().contains("customer_id"), "{error}");
        assert!(read("", 1).unwrap_err().message().contains("empty"));
        let error = read("customer_id,member_id,ts,amount_fen\n", 1).unwrap_err();
        assert!(error.message().contains("same column"), "{error}");
        let error = read("customer_id,ts,amount_fen\n\u{1}x,17640000000000,1\n", 1).unwrap_err();
        assert!(error.message().contains("epoch seconds"), "{error}");
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_with_the_general_one(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "", "0", "7", "1764547200", "-5", " 7", "7 ", "1.5", "2025-12-01",
                    "c1", "\"c1\"", "c 1", "99999999999999999999", "253402300800", "é",
                ]),
                4..7,
            ),
        ) {
            let header = b"order_id,customer_id,ts,amount_fen,refunded_fen";
            let layout = Layout::parse(header, 1).unwrap();
            let line = parts.join(",");
            let fast = fast_record(&layout.roles, line.as_bytes());
            let mut spans = Vec::new();
            let general = if split_unquoted(line.as_bytes(), &mut spans) {
                parse_record(&layout, &spans, &mut Timestamps::new()).ok()
            } else {
                None
            };
            if let Some(fast) = fast {
                proptest::prop_assert_eq!(Some(fast), general);
            }
        }
    }

    /// Feeds `text` as a file reader would: the body in `parts` runs of whole lines, each
    /// in blocks of `block` bytes, carrying unfinished lines over.
    fn streamed(text: &str, parts: usize, block: usize) -> Result<(Orders, Names), InvalidInput> {
        let bytes = text.as_bytes();
        let csv = OrdersCsv::from_header(bytes)?;
        let mut done = Vec::new();
        for chunk in line_chunks(&bytes[csv.body_start()..], parts) {
            let mut part = csv.part(0);
            let mut carried: Vec<u8> = Vec::new();
            for piece in chunk.chunks(block) {
                carried.extend_from_slice(piece);
                let used = part.feed(&carried, false);
                carried.drain(..used);
            }
            part.feed(&carried, true);
            done.push(part);
        }
        csv.assemble(done, 2)
    }

    proptest::proptest! {
        #[test]
        fn streamed_parts_give_what_the_whole_file_gives(
            rows in proptest::collection::vec((0u32..30, 0i64..1_000_000, 0i64..500, proptest::bool::ANY), 0..80),
            parts in 1usize..4,
            block in 1usize..40,
            bad_row in proptest::option::of(0usize..80),
        ) {
            let mut text = String::from("order_id,customer_id,ts,amount_fen,refunded_fen\n");
            for (i, (c, ts, amount, blank)) in rows.iter().enumerate() {
                if bad_row == Some(i) {
                    text.push_str("x,c,yesterday,1,0\n");
                }
                text.push_str(&format!("o{i},\"c{c}\",{ts},{amount},{}\n", amount / 2));
                if *blank {
                    text.push_str("\r\n");
                }
            }
            let whole = Orders::from_csv(text.as_bytes(), 2);
            let streamed = streamed(&text, parts, block);
            proptest::prop_assert_eq!(streamed, whole);
        }
    }

    #[test]
    fn a_later_chunk_reports_its_own_line_number() {
        let mut text = String::from("customer_id,ts,amount_fen\n");
        for i in 0..1000 {
            text.push_str(&format!("c{i},{i},1\n"));
        }
        text.push_str("c,x,1\n");
        let error = read(&text, 2).unwrap_err();
        assert!(error.message().starts_with("line 1002:"), "{error}");
    }
}
