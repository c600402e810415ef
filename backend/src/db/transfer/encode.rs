//! SQLite rows written as PostgreSQL's `COPY ... from stdin` text format: columns separated
//! by tabs, rows ended by newlines, `\N` for NULL, and backslash escapes for the characters
//! that would otherwise end a column or a row.

use std::fmt::Write as _;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::schema::{Column, Kind};

/// Appends one row (its values at `row[1..]`, after the rowid) to `buf`; an error names the
/// column whose value cannot travel, and why.
pub(super) fn push_row(buf: &mut String, row: &SqliteRow, columns: &[Column]) -> Result<(), (String, String)> {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            buf.push('\t');
        }
        push_value(buf, row, i + 1, column.kind).map_err(|reason| (column.name.clone(), reason))?;
    }
    buf.push('\n');
    Ok(())
}

fn push_value(buf: &mut String, row: &SqliteRow, index: usize, kind: Kind) -> Result<(), String> {
    let text = |e: sqlx::Error| e.to_string();
    match kind {
        Kind::Int => match row.try_get::<Option<i64>, _>(index).map_err(text)? {
            Some(v) => write!(buf, "{v}").map_err(|e| e.to_string())?,
            None => push_null(buf),
        },
        Kind::Bool => match row.try_get::<Option<i64>, _>(index).map_err(text)? {
            Some(0) => buf.push('f'),
            Some(1) => buf.push('t'),
            Some(v) => return Err(format!("{v} is not a boolean (0 or 1)")),
            None => push_null(buf),
        },
        Kind::Float => match row.try_get::<Option<f64>, _>(index).map_err(text)? {
            Some(v) => push_float(buf, v),
            None => push_null(buf),
        },
        Kind::Text => match row.try_get::<Option<&str>, _>(index).map_err(text)? {
            Some(v) => push_text(buf, v)?,
            None => push_null(buf),
        },
        Kind::Bytes => match row.try_get::<Option<&[u8]>, _>(index).map_err(text)? {
            Some(v) => push_bytes(buf, v),
            None => push_null(buf),
        },
    }
    Ok(())
}

fn push_null(buf: &mut String) {
    buf.push_str("\\N");
}

/// A float as PostgreSQL reads it back to the same value: Rust's `Debug` prints the shortest
/// such text, with an exponent for very large or small values.
fn push_float(buf: &mut String, v: f64) {
    if v.is_nan() {
        buf.push_str("NaN");
    } else if v.is_infinite() {
        buf.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(buf, "{v:?}");
    }
}

/// Text with the COPY escapes; PostgreSQL's text cannot hold a NUL, which SQLite's can.
pub(super) fn push_text(buf: &mut String, v: &str) -> Result<(), String> {
    for c in v.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\0' => return Err("the text holds a NUL character, which PostgreSQL's text cannot store".into()),
            c => buf.push(c),
        }
    }
    Ok(())
}

/// Bytes in bytea's hex form; its leading backslash is itself escaped for COPY.
pub(super) fn push_bytes(buf: &mut String, v: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.reserve(3 + 2 * v.len());
    buf.push_str("\\\\x");
    for b in v {
        buf.push(HEX[usize::from(b >> 4)] as char);
        buf.push(HEX[usize::from(b & 15)] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_what_would_end_a_column_or_a_row() {
        let mut buf = String::new();
        push_text(&mut buf, "a\tb\nc\rd\\N é").unwrap();
        assert_eq!(buf, "a\\tb\\nc\\rd\\\\N é");
    }

    #[test]
    fn text_with_a_nul_is_refused() {
        assert!(push_text(&mut String::new(), "a\0b").unwrap_err().contains("NUL"));
    }

    #[test]
    fn bytes_are_hex_behind_an_escaped_backslash() {
        let mut buf = String::new();
        push_bytes(&mut buf, &[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x0a]);
        assert_eq!(buf, "\\\\x28b52ffd000a");
    }

    #[test]
    fn floats_keep_their_value_and_their_special_cases() {
        let mut buf = String::new();
        for v in [0.1, -2.5e300, f64::NAN, f64::NEG_INFINITY] {
            push_float(&mut buf, v);
            buf.push(' ');
        }
        assert_eq!(buf, "0.1 -2.5e300 NaN -Infinity ");
    }
}
