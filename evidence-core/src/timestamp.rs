//! Timestamps and durations as evidence writes and reads them.
//!
//! Inside evidence, a time is always RFC 3339 in UTC with whole seconds:
//! `2026-11-22T09:30:00Z`, one byte form per instant. Such times are claims made by whoever
//! wrote the evidence (DESIGN 4 rule 8); reports say so, and no check trusts one alone.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch, UTC, whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a time or duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Not RFC 3339.
    #[error("{0:?} is not an RFC 3339 time such as 2026-11-22T09:30:00Z")]
    NotRfc3339(String),
    /// RFC 3339, but not the canonical evidence form (UTC `Z`, whole seconds).
    #[error("{0:?} is not in the form YYYY-MM-DDTHH:MM:SSZ (UTC, whole seconds)")]
    NotCanonical(String),
    /// Outside the years 1970-9999.
    #[error("{0:?} is outside the years 1970-9999")]
    OutOfRange(String),
    /// `SOURCE_DATE_EPOCH` is set but not a whole number of seconds.
    #[error("SOURCE_DATE_EPOCH={0:?} is not a whole number of seconds since 1970")]
    SourceDateEpoch(String),
    /// Not a duration such as `90s`, `15m`, `24h`, `7d`, `1h30m`.
    #[error("{0:?} is not a duration such as 90s, 15m, 24h, 7d or 1h30m")]
    Duration(String),
}

/// Latest accepted instant: 9999-12-31T23:59:59Z.
const MAX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// From Unix seconds; refuses times before 1970 or after 9999.
    pub fn from_unix(seconds: i64) -> Option<Self> {
        (0..=MAX_SECONDS)
            .contains(&seconds)
            .then_some(Self(seconds))
    }

    /// Unix seconds.
    pub fn unix(self) -> i64 {
        self.0
    }

    /// The current time, truncated to whole seconds.
    pub fn now() -> Self {
        Self(
            OffsetDateTime::now_utc()
                .unix_timestamp()
                .clamp(0, MAX_SECONDS),
        )
    }

    /// `SOURCE_DATE_EPOCH` when set (reproducible builds), else the current time.
    pub fn now_or_source_date_epoch() -> Result<Self, TimeError> {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(Self::from_unix)
                .ok_or(TimeError::SourceDateEpoch(text)),
            Err(_) => Ok(Self::now()),
        }
    }

    /// Parses the canonical evidence form only (`YYYY-MM-DDTHH:MM:SSZ`).
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let t = Self::parse_rfc3339(text)?;
        if t.to_string() != text {
            return Err(TimeError::NotCanonical(text.to_owned()));
        }
        Ok(t)
    }

    /// Parses any RFC 3339 time (any offset, fractional seconds dropped) and converts to UTC.
    /// For command-line input; evidence itself uses [`Timestamp::parse`].
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        let t = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| TimeError::NotRfc3339(text.to_owned()))?;
        Self::from_unix(t.unix_timestamp()).ok_or_else(|| TimeError::OutOfRange(text.to_owned()))
    }

    /// This time plus `seconds` (saturating at the representable range).
    #[must_use]
    pub fn plus(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds).clamp(0, MAX_SECONDS))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

/// Parses the canonical evidence form (see [`Timestamp::parse`]).
pub fn parse_timestamp(text: &str) -> Result<Timestamp, TimeError> {
    Timestamp::parse(text)
}

/// Parses a duration: one or more `<number><unit>` groups with units `s`, `m`, `h`, `d`, `w`
/// (`90s`, `15m`, `24h`, `7d`, `1h30m`). Returns seconds; zero is refused.
pub fn parse_duration(text: &str) -> Result<i64, TimeError> {
    let err = || TimeError::Duration(text.to_owned());
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    for c in text.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number.unwrap_or(0);
            number = Some(
                n.checked_mul(10)
                    .and_then(|n| n.checked_add(i64::from(d)))
                    .ok_or_else(err)?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err()),
        };
        let n = number.take().ok_or_else(err)?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(err)?;
    }
    if number.is_some() || total == 0 {
        return Err(err());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_round_trips() {
        let t = Timestamp::parse("2026-11-22T09:30:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-22T09:30:00Z");
        assert_eq!(
            Timestamp::from_unix(0).unwrap().to_string(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn non_canonical_forms_are_refused_in_evidence_but_accepted_from_users() {
        for text in [
            "2026-11-22T10:30:00+01:00",
            "2026-11-22T09:30:00.5Z",
            "2026-11-22t09:30:00z",
        ] {
            assert_eq!(
                Timestamp::parse(text),
                Err(TimeError::NotCanonical(text.into())),
                "{text}"
            );
            assert_eq!(
                Timestamp::parse_rfc3339(text).unwrap().to_string(),
                "2026-11-22T09:30:00Z"
            );
        }
        assert!(matches!(
            Timestamp::parse("yesterday"),
            Err(TimeError::NotRfc3339(_))
        ));
        assert!(matches!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59Z"),
            Err(TimeError::OutOfRange(_))
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        for bad in ["", "0s", "15", "m", "1x", "-5m", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
