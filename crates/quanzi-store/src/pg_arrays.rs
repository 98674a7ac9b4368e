//! PostgreSQL array literals for bulk statements. A multi-row `VALUES` list of 500 rows
//! with thousands of parameters is planned afresh on every execution (5 ms for the member
//! profile update, a third of its time). `UNNEST` over one array per column is a short
//! statement with a handful of parameters that PostgreSQL prepares and plans once.
//!
//! The driver layer (`sqlx::Any`) binds no arrays, so each array travels as its text form
//! (`{"a","b",NULL}`) and the statement casts it: `CAST($2 AS text[])`.

use std::fmt::Write;

/// The array literal of optional texts: every element quoted, `"` and `\` escaped, and
/// `None` as an unquoted `NULL` (a quoted "NULL" stays the four-letter text).
pub(crate) fn text_array<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> String {
    literal(values, |out, text: &str| {
        out.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    })
}

/// The array literal of optional integers.
pub(crate) fn int_array(values: impl IntoIterator<Item = Option<i64>>) -> String {
    literal(values, |out, n: i64| {
        let _ = write!(out, "{n}"); // writing to a String cannot fail
    })
}

/// `{a,b,NULL}`: the elements comma-separated in braces, `None` as `NULL`.
fn literal<T>(
    values: impl IntoIterator<Item = Option<T>>,
    element: impl Fn(&mut String, T),
) -> String {
    let mut out = String::from("{");
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match value {
            None => out.push_str("NULL"),
            Some(value) => element(&mut out, value),
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_quoted_and_escaped_and_none_is_null() {
        let literal = text_array([
            Some("plain"),
            None,
            Some("NULL"),
            Some(r#"say "hi" \ bye"#),
            Some("a,b{c}"),
            Some(""),
            Some("杭州"),
        ]);
        assert_eq!(
            literal,
            r#"{"plain",NULL,"NULL","say \"hi\" \\ bye","a,b{c}","","杭州"}"#
        );
    }

    #[test]
    fn integers_and_nulls() {
        assert_eq!(
            int_array([Some(1), None, Some(-7), Some(i64::MAX)]),
            "{1,NULL,-7,9223372036854775807}"
        );
        assert_eq!(int_array(std::iter::empty()), "{}");
    }
}
