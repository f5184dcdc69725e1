//! Query parameters, checked the way the service checks them.

use std::collections::HashMap;

/// The query string of a request, by name.
#[derive(Debug, Default)]
pub(crate) struct Params(pub(crate) HashMap<String, String>);

impl Params {
    /// A text parameter; an empty value counts as absent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A parameter as sent, empty or not: for typed parameters an empty
    /// value is a malformed one, not an absent one.
    fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// An integer parameter within `min..=max`, or `default` when absent.
    pub(crate) fn int(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, String> {
        match self.opt_int(name)? {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => Ok(v),
            Some(v) => Err(format!(
                "Invalid value '{v}' for '{name}': expected an integer from {min} to {max}"
            )),
        }
    }

    /// An optional integer parameter. Integers too large for 64 bits are
    /// taken as the largest (or smallest) that fit: still integers, just
    /// far away.
    pub(crate) fn opt_int(&self, name: &str) -> Result<Option<i64>, String> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "Invalid value '{raw}' for '{name}': expected an integer"
            ));
        }
        Ok(Some(raw.parse::<i64>().unwrap_or(
            if raw.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            },
        )))
    }

    /// One of `options`, or `default` when absent.
    pub(crate) fn choice(
        &self,
        name: &str,
        options: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, String> {
        match self.raw(name) {
            None => Ok(default),
            Some(raw) => options.iter().find(|o| **o == raw).copied().ok_or_else(|| {
                format!(
                    "Invalid value '{raw}' for '{name}': expected one of {}",
                    options.join(", ")
                )
            }),
        }
    }

    /// An optional boolean parameter (`true` or `false`).
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, String> {
        match self.raw(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(raw) => Err(format!(
                "Invalid value '{raw}' for '{name}': expected true or false"
            )),
        }
    }
}

/// `offset..offset + limit` clipped to `0..total`: the part of a listing one
/// page shows.
pub(crate) fn page(total: usize, offset: usize, limit: usize) -> std::ops::Range<usize> {
    let start = offset.min(total);
    start..start.saturating_add(limit).min(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn integers() {
        let p = params(&[
            ("limit", "5"),
            ("offset", "-1"),
            ("bad", "x"),
            ("empty", ""),
        ]);
        assert_eq!(p.int("limit", 10, 1, 100), Ok(5));
        assert_eq!(p.int("missing", 10, 1, 100), Ok(10));
        assert!(
            p.int("empty", 10, 1, 100).is_err(),
            "an empty integer is malformed"
        );
        assert!(p.int("offset", 0, 0, i64::MAX).is_err());
        assert!(p.int("bad", 0, 0, 9).is_err());
        assert!(p.int("limit", 0, 6, 9).is_err());
        assert_eq!(p.opt_int("missing"), Ok(None));
        assert!(p.opt_int("bad").is_err());
        let huge = params(&[
            ("big", "398986335866521518080"),
            ("small", "-99999999999999999999"),
        ]);
        assert_eq!(huge.opt_int("big"), Ok(Some(i64::MAX)));
        assert_eq!(huge.opt_int("small"), Ok(Some(i64::MIN)));
        assert_eq!(huge.int("big", 0, 0, i64::MAX), Ok(i64::MAX));
        assert!(params(&[("x", "-")]).opt_int("x").is_err());
        assert!(params(&[("x", "1.5")]).opt_int("x").is_err());
    }

    #[test]
    fn choices_and_bools() {
        let p = params(&[
            ("order", "asc"),
            ("bad", "up"),
            ("b", "true"),
            ("nb", "yes"),
        ]);
        assert_eq!(p.choice("order", &["asc", "desc"], "desc"), Ok("asc"));
        assert_eq!(p.choice("none", &["asc", "desc"], "desc"), Ok("desc"));
        assert!(p.choice("bad", &["asc", "desc"], "desc").is_err());
        assert_eq!(p.bool("b"), Ok(Some(true)));
        assert_eq!(p.bool("none"), Ok(None));
        assert!(p.bool("nb").is_err());
    }

    #[test]
    fn pages() {
        assert_eq!(page(10, 0, 3), 0..3);
        assert_eq!(page(10, 8, 3), 8..10);
        assert_eq!(page(10, 10, 3), 10..10);
        assert_eq!(page(10, 50, 3), 10..10);
        assert_eq!(page(0, 0, 10), 0..0);
        assert_eq!(page(5, 2, usize::MAX), 2..5);
    }
}
