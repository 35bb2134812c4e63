//! Keyset pagination: an opaque cursor names the last item of a page, and
//! the next page starts strictly after it, so rows that arrive meanwhile
//! are neither skipped nor repeated.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Code, Error, Result};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 50;

/// A sort key that can travel as a cursor.
pub trait CursorKey: Sized {
    fn to_raw(&self) -> String;
    fn from_raw(raw: &str) -> Option<Self>;
}

/// After every real id: the start of a newest-first page.
pub const NEWEST: Uuid = Uuid::max();

/// Items ordered by a UUIDv7 id alone (posts, comments, notifications).
impl CursorKey for Uuid {
    fn to_raw(&self) -> String {
        self.to_string()
    }

    fn from_raw(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// Items ordered by when they happened, ties broken by a user id (follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeKey {
    pub at: OffsetDateTime,
    pub id: Uuid,
}

impl TimeKey {
    /// After every real key: the start of a first page.
    pub const MAX: TimeKey = TimeKey {
        at: time::macros::datetime!(9999-12-31 0:00 UTC),
        id: Uuid::max(),
    };
}

impl CursorKey for TimeKey {
    fn to_raw(&self) -> String {
        format!("{}.{}", self.at.unix_timestamp_nanos() / 1000, self.id)
    }

    fn from_raw(raw: &str) -> Option<Self> {
        let (micros, id) = raw.split_once('.')?;
        let micros: i128 = micros.parse().ok()?;
        Some(TimeKey {
            at: OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000)?).ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Items ranked by a score, best first, ties broken by id (search).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreKey {
    pub score: f32,
    pub id: Uuid,
}

impl ScoreKey {
    /// Before every real key: the start of a first page.
    pub const FIRST: ScoreKey = ScoreKey {
        score: f32::MAX,
        id: Uuid::max(),
    };
}

impl CursorKey for ScoreKey {
    fn to_raw(&self) -> String {
        // Rust prints the shortest text that reads back to the same f32.
        format!("{}_{}", self.score, self.id)
    }

    fn from_raw(raw: &str) -> Option<Self> {
        let (score, id) = raw.split_once('_')?;
        let score: f32 = score.parse().ok()?;
        score.is_finite().then_some(())?;
        Some(ScoreKey {
            score,
            id: id.parse().ok()?,
        })
    }
}

/// What a list request asks for, parsed.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<K> {
    pub after: Option<K>,
    pub limit: u32,
}

impl<K: CursorKey> PageRequest<K> {
    pub fn parse(cursor: Option<&str>, limit: Option<u32>) -> Result<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(raw) => Some(decode(raw).ok_or_else(|| Error::from(Code::InvalidCursor))?),
        };
        Ok(PageRequest { after, limit })
    }

    /// One more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

fn decode<K: CursorKey>(raw: &str) -> Option<K> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    K::from_raw(std::str::from_utf8(&bytes).ok()?)
}

pub fn encode<K: CursorKey>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(key.to_raw())
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts `rows` (fetched with `fetch_limit`) to the page, with a cursor
    /// on its last item when more rows follow.
    pub fn from_rows<K: CursorKey>(
        mut rows: Vec<T>,
        request: &PageRequest<impl CursorKey>,
        key: impl Fn(&T) -> K,
    ) -> Self {
        let more = rows.len() > request.limit as usize;
        rows.truncate(request.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| encode(&key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let id = Uuid::now_v7();
        assert_eq!(decode::<Uuid>(&encode(&id)), Some(id));
        let key = TimeKey {
            at: OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_000).unwrap(),
            id,
        };
        assert_eq!(decode::<TimeKey>(&encode(&key)), Some(key));
    }

    #[test]
    fn bad_cursors_and_limits_are_client_errors() {
        for bad in ["!!", "bm90LWEtdXVpZA", "MTIzLm5vcGU"] {
            assert!(matches!(
                PageRequest::<Uuid>::parse(Some(bad), None),
                Err(Error::Api {
                    code: Code::InvalidCursor,
                    ..
                })
            ));
        }
        for limit in [0, 51] {
            assert!(matches!(
                PageRequest::<Uuid>::parse(None, Some(limit)),
                Err(Error::Validation(_))
            ));
        }
        let request = PageRequest::<Uuid>::parse(None, None).unwrap();
        assert_eq!((request.limit, request.fetch_limit()), (20, 21));
    }
}
