//! Ids of locations, devices and requests: 1–64 characters of `[A-Za-z0-9._-]`.

use crate::MAX_ID_LEN;

/// Why an id is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is the empty string.
    #[error("is empty")]
    Empty,
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("is longer than {MAX_ID_LEN} characters")]
    TooLong,
    /// The id holds a character outside `[A-Za-z0-9._-]`.
    #[error("has {0:?}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed")]
    BadChar(char),
}

/// Checks a location, device or request id.
pub fn validate_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(IdError::BadChar(c));
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_charset_up_to_64() {
        assert_eq!(validate_id("tv-1204.a_B"), Ok(()));
        assert_eq!(validate_id(&"x".repeat(64)), Ok(()));
    }

    #[test]
    fn rejects_empty_long_and_odd_characters() {
        assert_eq!(validate_id(""), Err(IdError::Empty));
        assert_eq!(validate_id(&"x".repeat(65)), Err(IdError::TooLong));
        assert_eq!(validate_id("a/b"), Err(IdError::BadChar('/')));
        assert_eq!(validate_id("a+"), Err(IdError::BadChar('+')));
        assert_eq!(validate_id("é"), Err(IdError::BadChar('é')));
    }
}
