//! Hashtags and mentions in captions and comments, parsed once when the
//! text is written and kept beside it as entities with their ranges, so
//! that apps render links without parsing again.
//!
//! Rules (`scan`):
//! - a **hashtag** is `#` (or the fullwidth `＃`) not preceded by a word
//!   character (a letter, digit, combining mark or `_` of any script),
//!   followed by 1 to [`TAG_MAX_CHARS`] word characters (and the zero-width
//!   joiners some scripts write words with), of which at least one is not a
//!   digit (`#2024` is no tag). A longer run is no tag. Its key, stored and
//!   compared, is the text NFKC-normalised, lower-cased (Unicode's full
//!   lower-casing, `str::to_lowercase`) and NFKC-normalised again: close to
//!   Unicode's NFKC_Casefold, so `#Café`, `#CAFÉ`, `#cafe\u{301}` and
//!   `#ｃａｆé` are one tag. (Full case folding differs from lower-casing
//!   only for a few letters such as `ß`, kept as `ß`.)
//! - a **mention** is `@` (or `＠`) not preceded by a word character (so no
//!   email address), followed by a handle (3 to 30 of `a-z A-Z 0-9 _`) that
//!   no further word character follows. It is kept only if the handle
//!   names a user the writer may see (unknown handles are plain text).
//! - ranges are `[start, end)` in **UTF-16 code units** of the stored
//!   (trimmed) text: the unit of `NSString` and `java.lang.String`, so an
//!   app slices the text it shows with them directly. An emoji outside the
//!   Basic Multilingual Plane counts 2.
//! - a text names at most [`TAGS_MAX`] distinct hashtags and
//!   [`MENTIONS_MAX`] distinct handles; more is `validation_failed`.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use utoipa::ToSchema;
use uuid::Uuid;

use super::USER_VISIBLE;
use super::no_block;
use crate::error::{Error, Result};

pub const TAG_MAX_CHARS: usize = 100;
pub const TAGS_MAX: usize = 30;
pub const MENTIONS_MAX: usize = 20;

/// A hashtag or a mention in a text, with its range in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entity {
    Hashtag {
        /// First UTF-16 code unit (the `#`), from 0.
        start: u32,
        /// One past the last UTF-16 code unit.
        end: u32,
        /// The hashtag's key (NFKC, lower-cased): `/v1/hashtags/{tag}`.
        #[schema(example = "golden_hour")]
        tag: String,
    },
    Mention {
        /// First UTF-16 code unit (the `@`), from 0.
        start: u32,
        /// One past the last UTF-16 code unit.
        end: u32,
        user_id: Uuid,
        /// The handle as it was when the text was written.
        #[schema(example = "ana_lima")]
        handle: String,
    },
}

/// What a text holds before mentions are resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Every hashtag, in order.
    pub hashtags: Vec<Entity>,
    /// Every `@handle`, in order: `(start, end, lower-cased handle)`.
    pub mentions: Vec<(u32, u32, String)>,
}

impl Scanned {
    /// The distinct hashtag keys, sorted (the order rows are locked in).
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .hashtags
            .iter()
            .filter_map(|e| match e {
                Entity::Hashtag { tag, .. } => Some(tag.clone()),
                Entity::Mention { .. } => None,
            })
            .collect();
        tags.sort();
        tags.dedup();
        tags
    }

    /// The distinct handles mentioned, sorted.
    pub fn handles(&self) -> Vec<String> {
        let mut handles: Vec<String> = self.mentions.iter().map(|m| m.2.clone()).collect();
        handles.sort();
        handles.dedup();
        handles
    }

    /// The bounds, for the field `field` of the request.
    pub fn check(&self, field: &'static str) -> Result<()> {
        if self.tags().len() > TAGS_MAX {
            return Err(Error::invalid_field(
                field,
                format!("may hold at most {TAGS_MAX} different hashtags"),
            ));
        }
        if self.handles().len() > MENTIONS_MAX {
            return Err(Error::invalid_field(
                field,
                format!("may mention at most {MENTIONS_MAX} different people"),
            ));
        }
        Ok(())
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_combining_mark(c)
}

fn is_tag_char(c: char) -> bool {
    is_word_char(c) || c == '\u{200C}' || c == '\u{200D}'
}

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The key of a hashtag's text (after the `#`), if it makes a tag.
pub fn tag_key(text: &str) -> Option<String> {
    if text.chars().count() > TAG_MAX_CHARS {
        return None;
    }
    let key: String = text
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect();
    let valid = !key.is_empty()
        && key.chars().count() <= TAG_MAX_CHARS
        && key.chars().all(is_tag_char)
        && key.chars().any(|c| !c.is_numeric());
    valid.then_some(key)
}

/// Finds the hashtags and `@handle`s of `text`.
pub fn scan(text: &str) -> Scanned {
    // Each char with its offset in UTF-16 code units, and the end.
    let mut chars: Vec<(u32, char)> = Vec::with_capacity(text.len());
    let mut offset = 0u32;
    for c in text.chars() {
        chars.push((offset, c));
        offset += c.len_utf16() as u32;
    }
    let at = |i: usize| chars.get(i).map_or(offset, |(o, _)| *o);
    let mut scanned = Scanned::default();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let after_word = i > 0 && is_word_char(chars[i - 1].1);
        let sign = match c {
            '#' | '＃' if !after_word => Some(true),
            '@' | '＠' if !after_word => Some(false),
            _ => None,
        };
        let Some(hashtag) = sign else {
            i += 1;
            continue;
        };
        let allowed = if hashtag { is_tag_char } else { is_handle_char };
        let run = chars[i + 1..]
            .iter()
            .take_while(|(_, c)| allowed(*c))
            .count();
        let next = i + 1 + run;
        let body: String = chars[i + 1..next].iter().map(|(_, c)| *c).collect();
        if hashtag {
            if let Some(tag) = tag_key(&body) {
                scanned.hashtags.push(Entity::Hashtag {
                    start,
                    end: at(next),
                    tag,
                });
            }
        } else if (3..=30).contains(&run) && !chars.get(next).is_some_and(|(_, c)| is_word_char(*c))
        {
            scanned
                .mentions
                .push((start, at(next), body.to_ascii_lowercase()));
        }
        i = next.max(i + 1);
    }
    scanned
}

/// The entities of `scanned` for a text written by `writer`: its hashtags,
/// and its mentions of users `writer` may see (visible, no block either
/// way), resolved to their ids; in text order.
pub async fn resolve(
    tx: &mut sqlx::PgConnection,
    writer: Uuid,
    scanned: &Scanned,
) -> Result<Vec<Entity>> {
    let handles = scanned.handles();
    let users: Vec<(Uuid, String)> = if handles.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(&format!(
            "SELECT u.id, u.handle FROM users u
             WHERE u.handle = ANY($2) AND {USER_VISIBLE} AND {}",
            no_block("$1", "u.id")
        ))
        .bind(writer)
        .bind(&handles)
        .fetch_all(&mut *tx)
        .await?
    };
    let mut entities: Vec<Entity> = scanned.hashtags.clone();
    for (start, end, handle) in &scanned.mentions {
        if let Some((user_id, _)) = users.iter().find(|(_, h)| h == handle) {
            entities.push(Entity::Mention {
                start: *start,
                end: *end,
                user_id: *user_id,
                handle: handle.clone(),
            });
        }
    }
    entities.sort_by_key(|e| match e {
        Entity::Hashtag { start, .. } | Entity::Mention { start, .. } => *start,
    });
    Ok(entities)
}

/// The users an entity list mentions, once each.
pub fn mentioned(entities: &[Entity]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = entities
        .iter()
        .filter_map(|e| match e {
            Entity::Mention { user_id, .. } => Some(*user_id),
            Entity::Hashtag { .. } => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Drops from `lists` the mentions of users `viewer` may not see now
/// (suspended or deleted since, or a block either way): a mention links to
/// a profile, and a blocked user's is not there for them.
pub async fn hide_unseen_mentions(
    conn: &mut sqlx::PgConnection,
    viewer: Uuid,
    lists: &mut [&mut Vec<Entity>],
) -> Result<()> {
    let mut named: Vec<Uuid> = lists.iter().flat_map(|list| mentioned(list)).collect();
    if named.is_empty() {
        return Ok(());
    }
    named.sort();
    named.dedup();
    let seen: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT u.id FROM users u WHERE u.id = ANY($2) AND {USER_VISIBLE} AND {}",
        no_block("$1", "u.id")
    ))
    .bind(viewer)
    .bind(&named)
    .fetch_all(conn)
    .await?;
    for list in lists.iter_mut() {
        list.retain(|e| match e {
            Entity::Mention { user_id, .. } => seen.contains(user_id),
            Entity::Hashtag { .. } => true,
        });
    }
    Ok(())
}

/// Entities as stored (a `jsonb` column, bound as text and cast).
pub fn to_json(entities: &[Entity]) -> String {
    serde_json::to_string(entities).unwrap_or_else(|_| "[]".into())
}

/// Entities as read back (`column::text`); a row written before entities
/// existed has none.
pub fn from_json(stored: &str) -> Vec<Entity> {
    serde_json::from_str(stored).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(text: &str) -> Vec<(u32, u32, String)> {
        scan(text)
            .hashtags
            .into_iter()
            .map(|e| match e {
                Entity::Hashtag { start, end, tag } => (start, end, tag),
                Entity::Mention { .. } => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn hashtags_are_unicode_words_keyed_by_nfkc_and_lower_case() {
        assert_eq!(tags("#Café"), [(0, 5, "café".to_string())]);
        // Decomposed, fullwidth, upper case: one key.
        for spelling in ["#cafe\u{301}", "#ＣＡＦÉ", "＃CAFÉ"] {
            assert_eq!(tags(spelling)[0].2, "café", "{spelling}");
        }
        assert_eq!(tags("#東京 #Москва")[1].2, "москва");
        assert_eq!(tags("ends here.#sunset!")[0].2, "sunset");
        // Not after a word character, not digits only, not too long.
        assert!(tags("a#b x_#y 3#z").is_empty());
        assert!(tags("#2024 #").is_empty());
        assert_eq!(tags("#2024s")[0].2, "2024s");
        assert!(tags(&format!("#{}", "a".repeat(101))).is_empty());
        assert_eq!(tags(&format!("#{}", "a".repeat(100)))[0].1, 101);
    }

    #[test]
    fn ranges_are_utf16_code_units() {
        // 🌅 is two UTF-16 code units, é one.
        let text = "🌅 é #sunset @ana_lima";
        let scanned = scan(text);
        assert_eq!(tags(text), [(5, 12, "sunset".to_string())]);
        assert_eq!(scanned.mentions, [(13, 22, "ana_lima".to_string())]);
        let utf16: Vec<u16> = text.encode_utf16().collect();
        assert_eq!(String::from_utf16(&utf16[5..12]).unwrap(), "#sunset");
        assert_eq!(String::from_utf16(&utf16[13..22]).unwrap(), "@ana_lima");
    }

    #[test]
    fn mentions_are_handles_not_email_addresses() {
        let handles = |t: &str| scan(t).handles();
        assert_eq!(handles("hi @Ana_Lima, @bo_b!"), ["ana_lima", "bo_b"]);
        assert!(handles("mail ana@example.org").is_empty());
        assert!(handles("@ab @abcé").is_empty());
        assert!(handles(&format!("@{}", "a".repeat(31))).is_empty());
    }

    #[test]
    fn a_text_holds_at_most_30_hashtags_and_20_mentions() {
        let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
        assert!(scan(&tags).check("caption").is_err());
        let same: String = (0..40).map(|_| "#same ").collect();
        assert!(scan(&same).check("caption").is_ok());
        let mentions: String = (0..21).map(|i| format!("@user{i} ")).collect();
        assert!(scan(&mentions).check("caption").is_err());
    }
}
