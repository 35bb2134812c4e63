//! Keyword filters: a user's words (or `#tags`) that hide what contains
//! them, or show it behind a warning, in the contexts they choose (home
//! feed, notifications, comments, explore), until an expiry or for good.
//! Only their owner reads them. The rules are SQL ([`hides`], [`warns`]),
//! applied by the reads of each context, so a page is filtered before it is
//! cut and a filter takes effect on the next read.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Db;
use crate::error::{Code, Error, FieldErrors, Result};

pub const TITLE_MAX_CHARS: usize = 100;
pub const KEYWORD_MAX_CHARS: usize = 100;
pub const KEYWORDS_PER_FILTER_MAX: usize = 30;
pub const FILTERS_PER_USER_MAX: i64 = 20;
/// The longest a filter may run before it expires; longer is no expiry.
pub const MAX_DURATION_SECS: u64 = 365 * 24 * 3600;

/// Where a filter applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema)]
#[sqlx(type_name = "filter_context", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// The home feed.
    Home,
    /// Notifications carrying someone else's words (a comment, a post).
    Notifications,
    /// The comments under a post.
    Comments,
    /// Explore.
    Explore,
}

impl Context {
    fn sql(self) -> &'static str {
        match self {
            Context::Home => "'home'",
            Context::Notifications => "'notifications'",
            Context::Comments => "'comments'",
            Context::Explore => "'explore'",
        }
    }
}

/// What a match does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema)]
#[sqlx(type_name = "filter_action", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[schema(as = FilterAction)]
pub enum Action {
    /// Left out, as if it did not exist.
    Hide,
    /// Shown with `filtered` naming the filter, for the app to cover it.
    Warn,
}

/// One word or phrase of a filter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Keyword {
    /// 1 to 100 characters; `#tag` filters a hashtag. Matched without
    /// regard to case, after Unicode NFKC normalisation of both sides.
    #[schema(min_length = 1, max_length = 100)]
    pub keyword: String,
    /// Only as a whole word (default true): `cat` then does not match
    /// `category`.
    #[serde(default = "yes")]
    pub whole_word: bool,
}

fn yes() -> bool {
    true
}

/// A filter as its owner reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Filter {
    pub id: Uuid,
    pub title: String,
    pub keywords: Vec<Keyword>,
    pub contexts: Vec<Context>,
    pub action: Action,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The filter behind a warning, on a post or comment that matched one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilterMatch {
    pub filter_id: Uuid,
    pub title: String,
}

/// A filter's fields, checked; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct FilterSpec {
    pub title: Option<String>,
    pub keywords: Option<Vec<Keyword>>,
    pub contexts: Option<Vec<Context>>,
    pub action: Option<Action>,
    /// `Some(None)`: no expiry.
    pub expires_in: Option<Option<u64>>,
}

impl FilterSpec {
    pub fn check(self) -> Result<Self> {
        let mut errors = FieldErrors::default();
        if let Some(title) = &self.title {
            let title = title.trim();
            if title.is_empty()
                || title.chars().count() > TITLE_MAX_CHARS
                || title.chars().any(char::is_control)
            {
                errors.add(
                    "title",
                    format!(
                        "must be 1 to {TITLE_MAX_CHARS} characters, with no control characters"
                    ),
                );
            }
        }
        if let Some(keywords) = &self.keywords
            && (keywords.is_empty()
                || keywords.len() > KEYWORDS_PER_FILTER_MAX
                || keywords.iter().any(|k| !keyword_ok(&k.keyword)))
        {
            errors.add(
                "keywords",
                format!(
                    "must be 1 to {KEYWORDS_PER_FILTER_MAX} keywords of 1 to \
                     {KEYWORD_MAX_CHARS} characters (no control characters)"
                ),
            );
        }
        if let Some(contexts) = &self.contexts
            && contexts.is_empty()
        {
            errors.add("contexts", "must name at least one context");
        }
        if let Some(Some(secs)) = self.expires_in
            && !(60..=MAX_DURATION_SECS).contains(&secs)
        {
            errors.add(
                "expires_in_secs",
                "must be 60 to 31536000 seconds (a year), or null for no expiry",
            );
        }
        errors.into_result()?;
        Ok(FilterSpec {
            title: self.title.map(|t| t.trim().to_string()),
            keywords: self.keywords.map(|ks| {
                ks.into_iter()
                    .map(|k| Keyword {
                        keyword: k.keyword.trim().nfkc().collect(),
                        whole_word: k.whole_word,
                    })
                    .collect()
            }),
            contexts: self.contexts.map(|mut cs| {
                cs.sort_by_key(|c| *c as u8);
                cs.dedup();
                cs
            }),
            ..self
        })
    }
}

fn keyword_ok(keyword: &str) -> bool {
    let keyword = keyword.trim();
    !keyword.is_empty()
        && keyword.chars().count() <= KEYWORD_MAX_CHARS
        && !keyword.chars().any(char::is_control)
}

/// The keyword as a PostgreSQL regular expression matching it literally:
/// every character that is not a letter or digit is escaped (in an ARE a
/// backslash before such a character means the character itself), and a
/// whole word is bounded by a non-word character or an end.
fn pattern(keyword: &Keyword) -> String {
    let mut literal = String::with_capacity(keyword.keyword.len() * 2);
    for c in keyword.keyword.chars() {
        if !c.is_alphanumeric() {
            literal.push('\\');
        }
        literal.push(c);
    }
    if keyword.whole_word {
        format!("(^|[^[:alnum:]_]){literal}([^[:alnum:]_]|$)")
    } else {
        literal
    }
}

/// SQL: the text expression `text` is hidden from the user in the bind
/// parameter `viewer` by one of their filters active in `context`.
fn matched(viewer: &str, text: &str, context: Context, action: &str) -> String {
    format!(
        "SELECT fi.id FROM filters fi JOIN filter_keywords fk ON fk.filter_id = fi.id
          WHERE fi.user_id = {viewer} AND fi.action = '{action}'
            AND {} = ANY(fi.contexts) AND (fi.expires_at IS NULL OR fi.expires_at > now())
            AND normalize({text}, NFKC) ~* fk.pattern",
        context.sql()
    )
}

/// SQL: no filter of the user in `viewer` hides `text` in `context`.
pub(crate) fn hides_not(viewer: &str, text: &str, context: Context) -> String {
    format!("NOT EXISTS ({})", matched(viewer, text, context, "hide"))
}

/// SQL: the ids of the filters of the user in `viewer` that warn of `text`
/// in `context` (a `uuid[]`, empty for none).
pub(crate) fn warns(viewer: &str, text: &str, context: Context) -> String {
    format!(
        "ARRAY(SELECT DISTINCT w.id FROM ({}) w)",
        matched(viewer, text, context, "warn")
    )
}

/// Names the filters among `ids` (with repeats) for the warnings shown
/// with matches: one read for a page.
pub async fn titles(conn: &mut sqlx::PgConnection, ids: &[Uuid]) -> Result<Vec<FilterMatch>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, title FROM filters WHERE id = ANY($1) ORDER BY title, id")
            .bind(ids)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(filter_id, title)| FilterMatch { filter_id, title })
        .collect())
}

/// The warnings among `warnings` whose filter is in `ids`.
pub fn named(warnings: &[FilterMatch], ids: &[Uuid]) -> Vec<FilterMatch> {
    warnings
        .iter()
        .filter(|w| ids.contains(&w.filter_id))
        .cloned()
        .collect()
}

#[derive(sqlx::FromRow)]
struct FilterRow {
    id: Uuid,
    title: String,
    contexts: Vec<Context>,
    action: Action,
    expires_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    keywords: sqlx::types::Json<Vec<Keyword>>,
}

impl From<FilterRow> for Filter {
    fn from(row: FilterRow) -> Self {
        Filter {
            id: row.id,
            title: row.title,
            keywords: row.keywords.0,
            contexts: row.contexts,
            action: row.action,
            expires_at: row.expires_at,
            created_at: row.created_at,
        }
    }
}

const SELECT_SQL: &str = "SELECT f.id, f.title, f.contexts, f.action, f.expires_at, f.created_at,
        COALESCE((SELECT jsonb_agg(jsonb_build_object('keyword', k.keyword, 'whole_word', k.whole_word)
                                   ORDER BY k.position)
                  FROM filter_keywords k WHERE k.filter_id = f.id), '[]') AS keywords
   FROM filters f";

/// The user's filters, expired ones included (until they delete them),
/// newest first.
pub async fn list(db: &Db, user: Uuid) -> Result<Vec<Filter>> {
    let rows: Vec<FilterRow> = sqlx::query_as(&format!(
        "{SELECT_SQL} WHERE f.user_id = $1 ORDER BY f.created_at DESC, f.id DESC"
    ))
    .bind(user)
    .fetch_all(&db.primary)
    .await?;
    Ok(rows.into_iter().map(Filter::from).collect())
}

pub async fn get(db: &Db, user: Uuid, id: Uuid) -> Result<Filter> {
    read(&db.primary, user, id).await
}

async fn read(db: &sqlx::PgPool, user: Uuid, id: Uuid) -> Result<Filter> {
    let row: Option<FilterRow> =
        sqlx::query_as(&format!("{SELECT_SQL} WHERE f.id = $1 AND f.user_id = $2"))
            .bind(id)
            .bind(user)
            .fetch_optional(db)
            .await?;
    row.map(Filter::from)
        .ok_or_else(|| Error::from(Code::FilterNotFound))
}

/// Creates a filter from a checked spec with every field given.
pub async fn create(db: &Db, user: Uuid, spec: FilterSpec) -> Result<Filter> {
    let (Some(title), Some(keywords), Some(contexts), Some(action)) =
        (spec.title, spec.keywords, spec.contexts, spec.action)
    else {
        return Err(Error::invalid_field(
            "filter",
            "title, keywords, contexts and action are required",
        ));
    };
    let mut tx = db.primary.begin().await?;
    // The owner's row serialises their creations, so the bound holds.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM filters WHERE user_id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    if count >= FILTERS_PER_USER_MAX {
        return Err(Error::from(Code::FiltersFull));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO filters (id, user_id, title, contexts, action, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
    )
    .bind(id)
    .bind(user)
    .bind(&title)
    .bind(&contexts)
    .bind(action)
    .bind(spec.expires_in.flatten().map(|s| s as f64))
    .execute(&mut *tx)
    .await?;
    write_keywords(&mut tx, id, &keywords).await?;
    tx.commit().await?;
    read(&db.primary, user, id).await
}

/// Changes the fields given; `keywords` replaces the list.
pub async fn update(db: &Db, user: Uuid, id: Uuid, spec: FilterSpec) -> Result<Filter> {
    let mut tx = db.primary.begin().await?;
    let updated = sqlx::query(
        "UPDATE filters SET title = COALESCE($3, title), contexts = COALESCE($4, contexts),
                action = COALESCE($5, action),
                expires_at = CASE WHEN $6 THEN now() + make_interval(secs => $7) ELSE expires_at END
          WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user)
    .bind(spec.title)
    .bind(spec.contexts)
    .bind(spec.action)
    .bind(spec.expires_in.is_some())
    .bind(spec.expires_in.flatten().map(|s| s as f64))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(Error::from(Code::FilterNotFound));
    }
    if let Some(keywords) = spec.keywords {
        sqlx::query("DELETE FROM filter_keywords WHERE filter_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        write_keywords(&mut tx, id, &keywords).await?;
    }
    tx.commit().await?;
    read(&db.primary, user, id).await
}

pub async fn delete(db: &Db, user: Uuid, id: Uuid) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM filters WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user)
        .execute(&db.primary)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Error::from(Code::FilterNotFound));
    }
    Ok(())
}

async fn write_keywords(tx: &mut sqlx::PgConnection, id: Uuid, keywords: &[Keyword]) -> Result<()> {
    let (words, whole, patterns): (Vec<&str>, Vec<bool>, Vec<String>) =
        keywords
            .iter()
            .fold((vec![], vec![], vec![]), |(mut w, mut h, mut p), k| {
                w.push(k.keyword.as_str());
                h.push(k.whole_word);
                p.push(pattern(k));
                (w, h, p)
            });
    sqlx::query(
        "INSERT INTO filter_keywords (filter_id, position, keyword, whole_word, pattern)
         SELECT $1, (n - 1)::smallint, k, w, p
           FROM unnest($2::text[], $3::bool[], $4::text[]) WITH ORDINALITY AS t(k, w, p, n)",
    )
    .bind(id)
    .bind(&words)
    .bind(&whole)
    .bind(&patterns)
    .execute(tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(keyword: &str, whole_word: bool) -> Keyword {
        Keyword {
            keyword: keyword.into(),
            whole_word,
        }
    }

    #[test]
    fn a_pattern_escapes_everything_but_letters_and_digits() {
        assert_eq!(pattern(&kw("a.b*c", false)), r"a\.b\*c");
        assert_eq!(pattern(&kw("été 2", false)), r"été\ 2");
        assert_eq!(
            pattern(&kw("#cats", true)),
            r"(^|[^[:alnum:]_])\#cats([^[:alnum:]_]|$)"
        );
    }
}
