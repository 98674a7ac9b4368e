//! Reading a customer summary table (CSV), as `lifetimes` writes it: a header naming
//! `frequency`, `recency` and `T` (or `age`), optionally an id column (`id`, `ID` or
//! `customer_id`) and a mean order value (`monetary_value` or `mean_value`).

use super::Summary;
use crate::input::InvalidInput;

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub id: String,
    pub summary: Summary,
    pub mean_value: Option<f64>,
}

/// Parses the table; errors name the line and column to fix.
pub fn parse_summaries(text: &str) -> Result<Vec<CustomerRow>, InvalidInput> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(InvalidInput::new("input", "the table is empty"));
    };
    let columns: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| columns.iter().position(|c| names.contains(&c.as_str()));
    let missing = |name: &str| {
        InvalidInput::new(
            "input",
            format!("the header needs a `{name}` column (found: {header})"),
        )
    };
    let frequency = find(&["frequency"]).ok_or_else(|| missing("frequency"))?;
    let recency = find(&["recency"]).ok_or_else(|| missing("recency"))?;
    let age = find(&["t", "age"]).ok_or_else(|| missing("T"))?;
    let id = find(&["id", "customer_id"]);
    let value = find(&["monetary_value", "mean_value"]);
    let mut rows = Vec::new();
    for (n, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let at = |column: usize| -> Result<f64, InvalidInput> {
            cells
                .get(column)
                .and_then(|c| c.parse::<f64>().ok())
                .ok_or_else(|| {
                    InvalidInput::new(
                        format!("line {}", n + 1),
                        format!("column `{}` is not a number", columns[column]),
                    )
                })
        };
        let summary = Summary {
            frequency: at(frequency)?,
            recency: at(recency)?,
            age: at(age)?,
        };
        summary
            .check(rows.len())
            .map_err(|e| e.for_field(format!("line {}", n + 1)))?;
        rows.push(CustomerRow {
            id: id
                .and_then(|c| cells.get(c))
                .map_or_else(|| rows.len().to_string(), |c| (*c).to_owned()),
            summary,
            mean_value: value.map(at).transpose()?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetimes_table_reads_with_or_without_values() {
        let rows =
            parse_summaries("ID,frequency,recency,T\n1,2,30.43,38.86\n2,0,0,38.86\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].id, "1");
        assert_eq!(rows[0].summary.recency, 30.43);
        assert_eq!(rows[0].mean_value, None);
        let rows =
            parse_summaries("customer_id,frequency,recency,age,monetary_value\na,1,3,10,25.5\n")
                .unwrap();
        assert_eq!(rows[0].mean_value, Some(25.5));
    }

    #[test]
    fn bad_tables_say_where_to_look() {
        assert_eq!(
            parse_summaries("id,recency,T\n").unwrap_err().field(),
            "input"
        );
        let err = parse_summaries("id,frequency,recency,T\n1,x,0,3\n").unwrap_err();
        assert_eq!(err.field(), "line 2");
        let err = parse_summaries("id,frequency,recency,T\n1,1,9,3\n").unwrap_err();
        assert_eq!(err.field(), "line 2");
    }
}
