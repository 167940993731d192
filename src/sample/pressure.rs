//! Pressure stall information: /proc/pressure/* and cgroup memory.pressure.

use super::Malformed;
use serde::{Deserialize, Serialize};

/// One `some` or `full` line of a PSI file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PressureLine {
    /// Share of time stalled over the last 10 s, in % (0.0-100.0).
    pub avg10: f32,
    /// Share of time stalled over the last 60 s, in % (0.0-100.0).
    pub avg60: f32,
    /// Share of time stalled over the last 300 s, in % (0.0-100.0).
    pub avg300: f32,
    /// Total stall time in microseconds.
    pub total_us: u64,
}

/// "some": at least one task stalled; "full": all non-idle tasks stalled
/// (the kernel omits "full" for cpu before 5.13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pressure {
    /// The `some` line.
    pub some: PressureLine,
    /// The `full` line; None where the file has none.
    pub full: Option<PressureLine>,
}

/// Parses a PSI file (kernel doc: Documentation/accounting/psi.rst); the `some` line is required.
pub fn parse(text: &str) -> Result<Pressure, Malformed> {
    let mut some = None;
    let mut full = None;
    for (index, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        let slot = match words.next() {
            Some("some") => &mut some,
            Some("full") => &mut full,
            Some(other) => return Err(Malformed::at(index + 1, format!("expected `some` or `full`, found {other:?}"))),
            None => continue,
        };
        let mut parsed = PressureLine::default();
        let mut fields = 0;
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| Malformed::at(index + 1, format!("expected key=value, found {word:?}")))?;
            let bad = || Malformed::at(index + 1, format!("bad number in {word:?}"));
            match key {
                "avg10" => parsed.avg10 = value.parse().map_err(|_| bad())?,
                "avg60" => parsed.avg60 = value.parse().map_err(|_| bad())?,
                "avg300" => parsed.avg300 = value.parse().map_err(|_| bad())?,
                "total" => parsed.total_us = value.parse().map_err(|_| bad())?,
                _ => continue,
            }
            fields += 1;
        }
        if fields != 4 {
            return Err(Malformed::at(index + 1, "expected avg10, avg60, avg300 and total"));
        }
        *slot = Some(parsed);
    }
    Ok(Pressure { some: some.ok_or_else(|| Malformed::at(0, "no `some` line"))?, full })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_some_and_full() {
        let p = parse(
            "some avg10=1.50 avg60=0.75 avg300=0.10 total=123456\nfull avg10=0.00 avg60=0.01 avg300=0.00 total=42\n",
        )
        .unwrap();
        assert_eq!(p.some.avg10, 1.5);
        assert_eq!(p.some.total_us, 123456);
        assert_eq!(p.full.unwrap().total_us, 42);
    }

    #[test]
    fn full_is_optional_but_fields_are_not() {
        assert!(parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").unwrap().full.is_none());
        assert_eq!(parse("some avg10=0.00 total=0\n").unwrap_err().line, 1);
        assert!(parse("").is_err());
        assert!(parse("some avg10=x avg60=0 avg300=0 total=0").unwrap_err().reason.contains("avg10=x"));
    }
}
