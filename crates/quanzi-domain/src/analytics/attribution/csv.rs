//! Reading the path table from CSV, as ChannelAttribution's examples ship it.

use super::journeys::{Builder, Column, Journeys};
use crate::input::InvalidInput;

/// Accepted header names per column; the first is ChannelAttribution's.
const PATH: &[&str] = &["path"];
const CONVERSIONS: &[&str] = &["total_conversions", "conversions"];
const VALUE: &[&str] = &["total_conversion_value", "value"];
const NULLS: &[&str] = &["total_null", "nulls"];

impl Journeys {
    /// Parses a CSV path table. The header names the columns in any order:
    /// `path,total_conversions,total_conversion_value,total_null` (ChannelAttribution) or
    /// `path,conversions,value,nulls`; `path` and the conversions column are required, a
    /// missing value or nulls column counts as 0, other columns are ignored. Fields may be
    /// double-quoted (`""` is a quote inside); a record must fit on one line. Blank lines,
    /// a byte-order mark and `\r\n` endings are accepted. Errors name the 1-based line and
    /// the column as the header spells it.
    pub fn from_csv(text: &str) -> Result<Self, InvalidInput> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line))
            .filter(|(_, line)| !line.trim().is_empty());
        let mut fields = Fields::default();

        let Some((header_line, header)) = lines.next() else {
            return Err(InvalidInput::new(
                "csv",
                "is empty; expected a header like path,total_conversions,total_conversion_value,total_null",
            ));
        };
        fields.split(header).map_err(|message| {
            InvalidInput::new("csv", format!("line {header_line}: {message}"))
        })?;
        let find = |names: &[&str]| {
            fields.iter().position(|field| {
                names
                    .iter()
                    .any(|name| field.trim().eq_ignore_ascii_case(name))
            })
        };
        let missing = |names: &[&str]| {
            InvalidInput::new(
                "csv",
                format!(
                    "line {header_line}: the header must name a `{}` column",
                    names.join("` or `")
                ),
            )
        };
        let path_at = find(PATH).ok_or_else(|| missing(PATH))?;
        let conversions_at = find(CONVERSIONS).ok_or_else(|| missing(CONVERSIONS))?;
        let value_at = find(VALUE);
        let nulls_at = find(NULLS);
        let names = ColumnNames {
            path: fields.get(path_at).trim().to_owned(),
            conversions: fields.get(conversions_at).trim().to_owned(),
            value: value_at.map_or("value".to_owned(), |at| fields.get(at).trim().to_owned()),
            nulls: nulls_at.map_or("nulls".to_owned(), |at| fields.get(at).trim().to_owned()),
        };
        let width = fields.len();

        let mut builder = Builder::new();
        for (line_number, line) in lines {
            let at = format!("line {line_number}");
            fields
                .split(line)
                .map_err(|message| InvalidInput::new("csv", format!("{at}: {message}")))?;
            if fields.len() != width {
                return Err(InvalidInput::new(
                    "csv",
                    format!("{at}: has {} fields, the header has {width}", fields.len()),
                ));
            }
            let number = |column: Column, index: Option<usize>| -> Result<f64, InvalidInput> {
                let Some(index) = index else { return Ok(0.0) };
                let raw = fields.get(index).trim();
                raw.parse::<f64>().map_err(|_| {
                    InvalidInput::new(names.of(column), format!("{at}: `{raw}` is not a number"))
                })
            };
            let conversions = number(Column::Conversions, Some(conversions_at))?;
            let value = number(Column::Value, value_at)?;
            let nulls = number(Column::Nulls, nulls_at)?;
            builder
                .push_text(fields.get(path_at), conversions, value, nulls)
                .map_err(|error| error.located(&at, |column| names.of(column)))?;
        }
        Ok(builder.finish())
    }
}

/// The header's own spelling of each column, for error messages.
struct ColumnNames {
    path: String,
    conversions: String,
    value: String,
    nulls: String,
}

impl ColumnNames {
    fn of(&self, column: Column) -> String {
        match column {
            Column::Path => self.path.clone(),
            Column::Conversions => self.conversions.clone(),
            Column::Value => self.value.clone(),
            Column::Nulls => self.nulls.clone(),
        }
    }
}

/// One record's fields, reusing their buffers from line to line.
#[derive(Default)]
struct Fields {
    buffers: Vec<String>,
    len: usize,
}

impl Fields {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, index: usize) -> &str {
        &self.buffers[index]
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.buffers[..self.len].iter().map(String::as_str)
    }

    fn start_field(&mut self) -> &mut String {
        if self.len == self.buffers.len() {
            self.buffers.push(String::new());
        }
        let buffer = &mut self.buffers[self.len];
        buffer.clear();
        self.len += 1;
        buffer
    }

    /// Splits one line into fields (RFC 4180 quoting, without line breaks inside quotes).
    fn split(&mut self, line: &str) -> Result<(), String> {
        self.len = 0;
        let mut chars = line.chars().peekable();
        loop {
            let field = self.start_field();
            // Leading spaces before an opening quote are tolerated.
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => field.push(c),
                        None => return Err("a quoted field is not closed".to_owned()),
                    }
                }
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
                match chars.next() {
                    Some(',') => continue,
                    None => return Ok(()),
                    Some(c) => return Err(format!("unexpected `{c}` after a closing quote")),
                }
            }
            loop {
                match chars.next() {
                    Some(',') => break,
                    Some('"') => {
                        return Err("a quote may only open a field".to_owned());
                    }
                    Some(c) => field.push(c),
                    None => return Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_attribution_headers_and_quoted_fields_are_read() {
        let csv = "\u{feff}path,total_conversions,total_conversion_value,total_null\r\n\
                   \"eta > iota > alpha > eta\",1,0.244,3\r\n\
                   \n\
                   iota > iota > iota > iota,2,3.058,0\r\n\
                   \"eta > eta\",0,0,1\r\n";
        let journeys = Journeys::from_csv(csv).unwrap();
        assert_eq!(journeys.channels(), ["eta", "iota", "alpha"]);
        assert_eq!(journeys.len(), 3);
        assert_eq!(journeys.conversions(), [1.0, 2.0, 0.0]);
        assert_eq!(journeys.value(), [0.244, 3.058, 0.0]);
        assert_eq!(journeys.nulls(), [3.0, 0.0, 1.0]);
    }

    #[test]
    fn short_headers_in_any_order_with_optional_columns_are_read() {
        let journeys =
            Journeys::from_csv("nulls,path,conversions,note\n2,a > b,1,\"x, y\"\n").unwrap();
        assert_eq!(journeys.nulls(), [2.0]);
        assert_eq!(journeys.value(), [0.0]);
        let journeys = Journeys::from_csv("path,conversions\n\"say \"\"hi\"\" > b\",1\n").unwrap();
        assert_eq!(journeys.channels(), ["say \"hi\"", "b"]);
    }

    #[test]
    fn errors_name_the_line_and_the_column_as_spelled() {
        let error = Journeys::from_csv("path,total_conversions\na,1\nb,lots\n").unwrap_err();
        assert_eq!(error.field(), "total_conversions");
        assert!(error.message().starts_with("line 3:"), "{error}");

        let error = Journeys::from_csv("path,conversions\na,1\n\n > ,1\n").unwrap_err();
        assert_eq!(error.field(), "path");
        assert!(error.message().starts_with("line 4:"), "{error}");

        let error = Journeys::from_csv("path,total_conversions,total_null\na,1,-2\n").unwrap_err();
        assert_eq!(error.field(), "total_null");

        let error = Journeys::from_csv("path,conversions\n\"a,1\n").unwrap_err();
        assert!(error.message().contains("not closed"), "{error}");

        let error = Journeys::from_csv("path,conversions\na,1,3\n").unwrap_err();
        assert!(error.message().contains("fields"), "{error}");
    }

    #[test]
    fn headers_without_path_or_conversions_are_refused() {
        assert!(Journeys::from_csv("").is_err());
        assert!(Journeys::from_csv("channel,conversions\n")
            .unwrap_err()
            .message()
            .contains("`path`"));
        assert!(Journeys::from_csv("path,value\n")
            .unwrap_err()
            .message()
            .contains("conversions"));
        assert!(Journeys::from_csv("path,conversions\n").unwrap().is_empty());
    }
}
