//! Notices from anyone (EU DSA Art. 16): a signed-out form about a post,
//! comment, story or account. A notice lands in the admin report queue as a
//! report with no reporter account, and its address gets one
//! acknowledgement mail (at most [`ACKS_PER_ADDRESS_PER_DAY`] a day per
//! address, never to a suppressed one), so the form is no way to mail-bomb
//! a stranger.

use uuid::Uuid;

use super::Db;
use super::moderation::{self, Category, NewReport, TargetType};
use crate::error::{Code, Error, Result};
use crate::infra::queue::Queue;
use crate::mail;
use crate::users::Email;

pub const NAME_MAX_CHARS: usize = 100;
pub const CONTENT_MAX_CHARS: usize = 2000;
/// Acknowledgements one address receives in 24 hours; notices past it are
/// still filed, silently.
pub const ACKS_PER_ADDRESS_PER_DAY: i64 = 3;

/// A notice, parsed at the edge.
pub struct NewNotice {
    name: String,
    email: Email,
    content: String,
    report: NewReport,
}

/// What the form sends.
pub struct NoticeForm<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub target_type: TargetType,
    /// The content's URL or id: the last UUID in it names the content.
    pub content: &'a str,
    pub category: Category,
    pub explanation: &'a str,
    pub good_faith: bool,
}

impl NewNotice {
    pub fn parse(form: NoticeForm<'_>) -> Result<Self> {
        let name = form.name.trim();
        if name.is_empty()
            || form.name.chars().count() > NAME_MAX_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(Error::invalid_field(
                "name",
                format!("must be 1 to {NAME_MAX_CHARS} characters, no control characters"),
            ));
        }
        let email = Email::parse(form.email).map_err(|m| Error::invalid_field("email", m))?;
        let content = form.content.trim();
        if content.is_empty()
            || form.content.chars().count() > CONTENT_MAX_CHARS
            || content.contains('\0')
        {
            return Err(Error::invalid_field(
                "content",
                format!("must be 1 to {CONTENT_MAX_CHARS} characters, with no NUL"),
            ));
        }
        let target = last_uuid(content).ok_or_else(|| {
            Error::invalid_field("content", "must be the content's id or a link holding it")
        })?;
        if !form.good_faith {
            return Err(Error::invalid_field(
                "good_faith",
                "must be true: the notice is accurate and made in good faith",
            ));
        }
        let report = NewReport::parse(form.target_type, target, form.category, form.explanation)
            .map_err(|_| {
                Error::invalid_field("explanation", "must be 1 to 1000 characters, with no NUL")
            })?;
        Ok(NewNotice {
            name: name.to_string(),
            email,
            content: content.to_string(),
            report,
        })
    }
}

/// The last UUID written in `text` (a link ends with the id it names).
fn last_uuid(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    (0..=bytes.len().saturating_sub(36))
        .rev()
        .filter(|&i| text.is_char_boundary(i) && text.is_char_boundary(i + 36))
        .find_map(|i| text.get(i..i + 36).and_then(|s| Uuid::try_parse(s).ok()))
}

/// Files a notice: the report the queue shows, and the acknowledgement.
/// Returns the report's id.
pub async fn file(db: &Db, queue: &Queue, notice: NewNotice) -> Result<Uuid> {
    let mut tx = db.primary.begin().await?;
    let visible: bool = sqlx::query_scalar(moderation::visible_sql(notice.report.target_type))
        .bind(notice.report.target_id)
        .bind(None::<Uuid>)
        .fetch_one(&mut *tx)
        .await?;
    if !visible {
        return Err(Error::from(Code::ReportTargetNotFound));
    }
    let notice_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO notices (id, name, email, content, good_faith) VALUES ($1, $2, $3, $4, true)",
    )
    .bind(notice_id)
    .bind(&notice.name)
    .bind(notice.email.as_str())
    .bind(&notice.content)
    .execute(&mut *tx)
    .await?;
    let report_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO reports (id, notice_id, target_type, target_id, reason, category)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(report_id)
    .bind(notice_id)
    .bind(notice.report.target_type)
    .bind(notice.report.target_id)
    .bind(&notice.report.reason)
    .bind(notice.report.category)
    .execute(&mut *tx)
    .await?;
    // One acknowledgement per notice, within the address's daily bound;
    // the mail is written with the notice, or not at all.
    let mail_id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO mail_outbox (id, kind, recipient, notice_id)
         SELECT $1, 'notice_received', $2, $3
          WHERE (SELECT count(*) FROM mail_outbox
                  WHERE notice_id IS NOT NULL AND lower(recipient) = lower($2)
                    AND created_at > now() - interval '1 day') < $4
            AND NOT EXISTS (SELECT 1 FROM mail_suppressions WHERE address = lower($2))
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(notice.email.as_str())
    .bind(notice_id)
    .bind(ACKS_PER_ADDRESS_PER_DAY)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some(mail_id) = mail_id {
        mail::queue_mail(&db.primary, queue, mail_id).await;
    }
    Ok(report_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_is_named_by_the_last_uuid_in_it() {
        let id = Uuid::now_v7();
        assert_eq!(last_uuid(&id.to_string()), Some(id));
        let link = format!("https://ciel.example/p/{}/x/{id}?a=1", Uuid::nil());
        assert_eq!(last_uuid(&link), Some(id));
        assert_eq!(last_uuid("https://ciel.example/é/no-id"), None);
        assert_eq!(last_uuid(""), None);
    }
}
