//! Bounds on integer parameters, checked by the generated setters before
//! anything is sent (the spec's `minimum`/`maximum`; see xtask's
//! `fixups::integer_ranges`).

/// `converted` when it lies within `min..=max`; otherwise an error naming
/// `name` and the rule, which `send()` reports as
/// [`crate::Error::InvalidRequest`].
pub(crate) fn check<T: Bounded>(
    converted: Result<T, String>,
    name: &str,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<T, String> {
    let value = converted?;
    let Some(n) = value.number() else {
        return Ok(value);
    };
    let outside = min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max);
    if !outside {
        return Ok(value);
    }
    Err(match (min, max) {
        (Some(min), Some(max)) => format!("{name}: must be between {min} and {max} (got {n})"),
        (Some(min), None) => format!("{name}: must be at least {min} (got {n})"),
        (None, Some(max)) => format!("{name}: must be at most {max} (got {n})"),
        (None, None) => format!("{name}: out of range (got {n})"),
    })
}

/// An integer, or an optional one.
pub(crate) trait Bounded {
    fn number(&self) -> Option<i64>;
}

impl Bounded for i64 {
    fn number(&self) -> Option<i64> {
        Some(*self)
    }
}

impl Bounded for Option<i64> {
    fn number(&self) -> Option<i64> {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn inside_passes_and_outside_names_the_rule() {
        assert_eq!(check(Ok(Some(5)), "limit", Some(1), Some(100)), Ok(Some(5)));
        assert_eq!(check(Ok(None), "limit", Some(1), Some(100)), Ok(None));
        assert_eq!(
            check(Ok(Some(0)), "limit", Some(1), Some(100)),
            Err("limit: must be between 1 and 100 (got 0)".to_string())
        );
        assert_eq!(
            check(Ok(-1i64), "offset", Some(0), None),
            Err("offset: must be at least 0 (got -1)".to_string())
        );
        assert_eq!(
            check::<i64>(Err("limit: bad".into()), "limit", Some(1), None),
            Err("limit: bad".to_string())
        );
    }
}
