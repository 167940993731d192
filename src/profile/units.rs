//! Sizes and CPU quotas as a person writes them ("1.5G", "512M", "150%").

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use thiserror::Error;

/// A size or quota that does not read; each names the text and what was expected.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum UnitError {
    /// Not a size: a number with an optional K, M, G or T suffix.
    #[error("a size like \"512M\", \"1.5G\" or \"4096\" (bytes), found {0:?}")]
    Size(String),
    /// A size over 2^64 - 1 bytes.
    #[error("size {0:?} is too large")]
    TooLarge(String),
    /// Not a CPU quota: a whole number followed by '%'.
    #[error("a CPU quota like \"150%\" (percent of one CPU), found {0:?}")]
    Quota(String),
    /// A CPU quota of 0%.
    #[error("a CPU quota must be above 0%, found {0:?}")]
    ZeroQuota(String),
}

/// A byte count. Parses systemd-style suffixes (K, M, G, T; base 1024, optional "iB"/"B")
/// with decimals ("1.5G"); prints the shortest exact form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

const UNITS: [(char, u32); 4] = [('K', 10), ('M', 20), ('G', 30), ('T', 40)];

impl ByteSize {
    /// Parses a size such as "1.5G", "512MiB" or "4096" (bytes); suffixes are base 1024, any case.
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let trimmed = text.trim();
        let number_end = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
        let (number, suffix) = trimmed.split_at(number_end);
        let expected = || UnitError::Size(text.to_owned());
        let suffix = suffix.trim();
        let unit = suffix.strip_suffix("iB").or_else(|| suffix.strip_suffix('B')).unwrap_or(suffix);
        let shift = match unit {
            "" => 0,
            _ => {
                let mut chars = unit.chars();
                let letter = chars.next().map(|c| c.to_ascii_uppercase());
                if chars.next().is_some() {
                    return Err(expected());
                }
                UNITS.iter().find(|(u, _)| Some(*u) == letter).map(|(_, shift)| *shift).ok_or_else(expected)?
            }
        };
        if number.is_empty() || number.matches('.').count() > 1 {
            return Err(expected());
        }
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| expected())? };
        let scale = 1u128 << shift;
        let mut bytes = u128::from(whole) * scale;
        if !fraction.is_empty() {
            let digits: u32 = fraction.len().try_into().map_err(|_| expected())?;
            let denominator = 10u128.checked_pow(digits).ok_or_else(expected)?;
            let numerator: u128 = fraction.parse().map_err(|_| expected())?;
            bytes += numerator * scale / denominator;
        }
        u64::try_from(bytes).map(ByteSize).map_err(|_| UnitError::TooLarge(text.to_owned()))
    }
}

impl fmt::Display for ByteSize {
    /// Exact and short: "2G", "1536M", "1.5G" only when exact, else plain bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, shift) in UNITS.iter().rev() {
            let scale = 1u64 << shift;
            if self.0 >= scale {
                if self.0 % scale == 0 {
                    return write!(f, "{}{unit}", self.0 / scale);
                }
                // One decimal when exact (1.5G), the common way people write budgets.
                let tenths = u128::from(self.0) * 10;
                if tenths % u128::from(scale) == 0 {
                    return write!(f, "{}.{}{unit}", self.0 / scale, (tenths / u128::from(scale)) % 10);
                }
            }
        }
        write!(f, "{}", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size like \"512M\", \"1.5G\" or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| E::custom(format!("a size cannot be negative, found {v}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// CPU quota in percent of one CPU, as systemd's CPUQuota= ("150%" = 1.5 CPUs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuQuota {
    /// Percent of one CPU, above 0 ("150%" is 150).
    pub percent: u32,
}

impl CpuQuota {
    /// Parses a quota such as "150%"; a missing '%' or 0% is refused.
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let expected = || UnitError::Quota(text.to_owned());
        let digits = text.trim().strip_suffix('%').ok_or_else(expected)?;
        let percent: u32 = digits.trim().parse().map_err(|_| expected())?;
        if percent == 0 {
            return Err(UnitError::ZeroQuota(text.to_owned()));
        }
        Ok(CpuQuota { percent })
    }

    /// systemd's CPUQuotaPerSecUSec: microseconds of CPU time per second of wall time.
    pub fn per_sec_usec(self) -> u64 {
        u64::from(self.percent) * 10_000
    }
}

impl fmt::Display for CpuQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.percent)
    }
}

impl Serialize for CpuQuota {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CpuQuota {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CpuQuota::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes_and_decimals() {
        assert_eq!(ByteSize::parse("2G"), Ok(ByteSize(2 << 30)));
        assert_eq!(ByteSize::parse("1.5G"), Ok(ByteSize(3 << 29)));
        assert_eq!(ByteSize::parse("512M"), Ok(ByteSize(512 << 20)));
        assert_eq!(ByteSize::parse("512MiB"), Ok(ByteSize(512 << 20)));
        assert_eq!(ByteSize::parse("64k"), Ok(ByteSize(64 << 10)));
        assert_eq!(ByteSize::parse("4096"), Ok(ByteSize(4096)));
        assert_eq!(ByteSize::parse("0"), Ok(ByteSize(0)));
        assert_eq!(ByteSize::parse(" 3.5G "), Ok(ByteSize(7 << 29)));
    }

    #[test]
    fn bad_sizes_say_what_was_expected() {
        for bad in ["", "G", "2X", "1.2.3G", "-1G", "2GG", "1e3"] {
            let err = ByteSize::parse(bad).unwrap_err().to_string();
            assert!(err.contains("512M"), "{bad:?}: {err}");
        }
        assert!(ByteSize::parse("99999999999T").unwrap_err().to_string().contains("too large"));
    }

    #[test]
    fn sizes_print_short_and_exact() {
        for text in ["2G", "1.5G", "512M", "400M", "3.5G", "4K", "1000", "0", "2.5G"] {
            assert_eq!(ByteSize::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(ByteSize(1536 << 20).to_string(), "1.5G");
        assert_eq!(ByteSize((1 << 30) + 1).to_string(), "1073741825");
    }

    #[test]
    fn cpu_quota_is_percent_of_one_cpu() {
        let quota = CpuQuota::parse("150%").unwrap();
        assert_eq!(quota.percent, 150);
        assert_eq!(quota.per_sec_usec(), 1_500_000);
        assert!(CpuQuota::parse("150").is_err());
        assert!(CpuQuota::parse("0%").is_err());
        assert!(CpuQuota::parse("x%").is_err());
    }
}
