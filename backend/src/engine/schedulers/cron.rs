//! Cron-style time matching for the nightly scheduler: five fields (minute, hour, day of
//! month, month, day of week with 0 or 7 = Sunday), each `*`, `N`, `A-B`, `*/S`, `A-B/S` or
//! a comma-separated list of those.

use chrono::{Datelike, Timelike};

/// Whether `value` is selected by one cron field whose values range over `min..=max`.
pub fn field_matches(field: &str, value: u32, min: u32, max: u32) -> bool {
    field.split(',').any(|part| part_matches(part.trim(), value, min, max))
}

fn part_matches(part: &str, value: u32, min: u32, max: u32) -> bool {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, step.parse::<u32>().ok().filter(|s| *s > 0)),
        None => (part, Some(1)),
    };
    let Some(step) = step else { return false };
    let (lo, hi) = if range == "*" {
        (min, max)
    } else if let Some((a, b)) = range.split_once('-') {
        match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return false,
        }
    } else {
        match range.parse() {
            // `N/S` means from N to the end, every S.
            Ok(n) if part.contains('/') => (n, max),
            Ok(n) => (n, n),
            Err(_) => return false,
        }
    };
    value >= lo && value <= hi && (value - lo).is_multiple_of(step)
}

/// Whether the nightly fields select the minute of `at`.
pub fn matches<T: Datelike + Timelike>(fields: [&str; 5], at: &T) -> bool {
    let [minute, hour, dom, month, dow] = fields;
    let weekday = at.weekday().num_days_from_sunday();
    field_matches(minute, at.minute(), 0, 59)
        && field_matches(hour, at.hour(), 0, 23)
        && field_matches(dom, at.day(), 1, 31)
        && field_matches(month, at.month(), 1, 12)
        && (field_matches(dow, weekday, 0, 7) || (weekday == 0 && field_matches(dow, 7, 0, 7)))
}

/// Whether a field is syntactically valid for the range.
pub fn field_is_valid(field: &str, min: u32, max: u32) -> bool {
    field.split(',').all(|part| {
        let (range, step) = part.split_once('/').unwrap_or((part, "1"));
        let step_ok = step.parse::<u32>().is_ok_and(|s| s > 0);
        let in_range = |s: &str| s.parse::<u32>().is_ok_and(|n| n >= min && n <= max);
        let range_ok =
            range == "*" || in_range(range) || range.split_once('-').is_some_and(|(a, b)| in_range(a) && in_range(b));
        step_ok && range_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
    }

    #[test]
    fn fields() {
        assert!(field_matches("*", 5, 0, 59));
        assert!(field_matches("5", 5, 0, 59));
        assert!(!field_matches("6", 5, 0, 59));
        assert!(field_matches("1-10/3", 7, 0, 59));
        assert!(!field_matches("1-10/3", 8, 0, 59));
        assert!(field_matches("*/15", 45, 0, 59));
        assert!(field_matches("0,30", 30, 0, 59));
        assert!(!field_matches("x", 3, 0, 59));
    }

    #[test]
    fn nightly_at_three_on_weekdays() {
        let fields = ["0", "3", "*", "*", "1-5"];
        // 2026-11-24 is a Tuesday.
        assert!(matches(fields, &at(2026, 11, 24, 3, 0)));
        assert!(!matches(fields, &at(2026, 11, 24, 3, 1)));
        // 2026-11-29 is a Sunday.
        assert!(!matches(fields, &at(2026, 11, 29, 3, 0)));
        assert!(matches(["0", "3", "*", "*", "7"], &at(2026, 11, 29, 3, 0)));
    }

    #[test]
    fn validity() {
        assert!(field_is_valid("*/5", 0, 59));
        assert!(field_is_valid("1-5,7", 0, 7));
        assert!(!field_is_valid("60", 0, 59));
        assert!(!field_is_valid("*/0", 0, 59));
        assert!(!field_is_valid("a", 0, 59));
    }
}
