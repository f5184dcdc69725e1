//! Time as the API shows it: RFC 3339 strings and Unix timestamps.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, to the nanosecond.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

/// `2025-04-19T01:20:27.564Z`: how agents, sessions and builds show times.
pub(crate) fn millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2025-04-18T20:34:17.153744602Z`: how log lines show times.
pub(crate) fn nanos(nanos_since_epoch: i64) -> String {
    DateTime::from_timestamp_nanos(nanos_since_epoch).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Nanoseconds since the Unix epoch of `t`.
pub(crate) fn epoch_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// A Unix timestamp filter as nanoseconds. The documentation does not say
/// which unit, so the magnitude decides: seconds below 10^11, then
/// milliseconds, microseconds and nanoseconds.
pub(crate) fn filter_nanos(value: i64) -> i64 {
    const E11: i64 = 100_000_000_000;
    let magnitude = value.unsigned_abs();
    let scale = if magnitude < E11 as u64 {
        1_000_000_000
    } else if magnitude < (E11 * 1_000) as u64 {
        1_000_000
    } else if magnitude < (E11 * 1_000_000) as u64 {
        1_000
    } else {
        1
    };
    value.saturating_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            nanos(1_745_008_457_153_744_602),
            "2025-04-18T20:34:17.153744602Z"
        );
        let t = DateTime::from_timestamp_nanos(1_745_008_457_153_744_602);
        assert_eq!(millis(t), "2025-04-18T20:34:17.153Z");
        assert_eq!(epoch_nanos(t), 1_745_008_457_153_744_602);
    }

    #[test]
    fn filter_units() {
        let ns = 1_745_008_457_000_000_000;
        assert_eq!(filter_nanos(1_745_008_457), ns);
        assert_eq!(filter_nanos(1_745_008_457_000), ns);
        assert_eq!(filter_nanos(1_745_008_457_000_000), ns);
        assert_eq!(filter_nanos(ns), ns);
        assert_eq!(filter_nanos(0), 0);
    }
}
