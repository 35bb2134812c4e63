//! The media job: its queue message and the state changes it makes.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// The body of a media job as the first releases wrote it, before job
/// types: still written for media jobs, and always understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub media_id: Uuid,
}

/// Every job the queue carries. Tagged by `type`; a body without one is a
/// media job of the first format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    Media {
        media_id: Uuid,
    },
    PurgeAccount {
        user_id: Uuid,
    },
    /// One account mail of the outbox (`mail::deliver`).
    SendMail {
        mail_id: Uuid,
    },
}

impl Job {
    pub fn to_body(self) -> String {
        serde_json::to_string(&self).expect("a job serialises")
    }

    pub fn parse(body: &str) -> Option<Self> {
        serde_json::from_str::<Job>(body).ok().or_else(|| {
            JobMessage::parse(body).map(|JobMessage { media_id }| Job::Media { media_id })
        })
    }
}

impl JobMessage {
    pub fn to_body(self) -> String {
        serde_json::to_string(&self).expect("a job message serialises")
    }

    pub fn parse(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }
}

/// A variant written to storage, to be recorded.
pub struct NewVariant {
    pub name: &'static str,
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub key: String,
}

pub struct Finished {
    pub width: u32,
    pub height: u32,
    pub blurhash: String,
    pub variants: Vec<NewVariant>,
}

/// Marks the media as being processed. False when there is nothing to do:
/// it is gone, ready, or failed (a duplicate or late message), or still
/// `pending`: its upload was never completed, so no real job names it (the
/// trigger endpoints are unauthenticated; a forged message must not start,
/// and then fail, a photo whose file is still on its way).
pub async fn claim(db: &PgPool, media_id: Uuid) -> Result<bool> {
    let result = sqlx::query(
        "UPDATE media SET status = 'processing', attempts = attempts + 1, updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'processing')",
    )
    .bind(media_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records the variants and marks the media ready, in one transaction.
/// Upserts keep a second run (redelivery, racing workers) from adding rows.
/// False when the media was deleted meanwhile.
pub async fn finish(db: &PgPool, media_id: Uuid, finished: &Finished) -> Result<bool> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE media SET status = 'ready', width = $2, height = $3, blurhash = $4,
                error_code = NULL, error_message = NULL, updated_at = now()
         WHERE id = $1 AND status <> 'failed'",
    )
    .bind(media_id)
    .bind(finished.width as i32)
    .bind(finished.height as i32)
    .bind(&finished.blurhash)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    let names: Vec<&str> = finished.variants.iter().map(|v| v.name).collect();
    let formats: Vec<&str> = finished.variants.iter().map(|v| v.format).collect();
    let widths: Vec<i32> = finished.variants.iter().map(|v| v.width as i32).collect();
    let heights: Vec<i32> = finished.variants.iter().map(|v| v.height as i32).collect();
    let bytes: Vec<i64> = finished.variants.iter().map(|v| v.bytes as i64).collect();
    let keys: Vec<&str> = finished.variants.iter().map(|v| v.key.as_str()).collect();
    sqlx::query(
        "INSERT INTO media_variants (media_id, name, format, width, height, bytes, key)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int[], $5::int[], $6::bigint[], $7::text[])
         ON CONFLICT (media_id, name, format) DO UPDATE
         SET width = EXCLUDED.width, height = EXCLUDED.height, bytes = EXCLUDED.bytes, key = EXCLUDED.key",
    )
    .bind(media_id)
    .bind(&names)
    .bind(&formats)
    .bind(&widths)
    .bind(&heights)
    .bind(&bytes)
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Marks the media failed for good, unless it already became ready.
pub async fn fail(db: &PgPool, media_id: Uuid, code: &str, message: &str) -> Result<()> {
    sqlx::query(
        "UPDATE media SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
         WHERE id = $1 AND status <> 'ready'",
    )
    .bind(media_id)
    .bind(code)
    .bind(message)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a media failed whose job the queue gave up on (it reached the
/// dead-letter queue). False when it had already settled, is gone, or is
/// still `pending` (no job was ever sent for it).
pub async fn abandon(db: &PgPool, media_id: Uuid, code: &str, message: &str) -> Result<bool> {
    let result = sqlx::query(
        "UPDATE media SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'processing')",
    )
    .bind(media_id)
    .bind(code)
    .bind(message)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

const RECORDED_BODY_MAX_CHARS: usize = 4096;

/// Keeps a message that names no media, so poison is visible, not retried.
pub async fn record_unreadable(db: &PgPool, body: &str, code: &str, message: &str) -> Result<()> {
    let body: String = body.chars().take(RECORDED_BODY_MAX_CHARS).collect();
    sqlx::query(
        "INSERT INTO media_job_failures (body, error_code, error_message) VALUES ($1, $2, $3)",
    )
    .bind(body)
    .bind(code)
    .bind(message)
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_message_formats_parse() {
        let id = Uuid::now_v7();
        let legacy = JobMessage { media_id: id }.to_body();
        assert_eq!(Job::parse(&legacy), Some(Job::Media { media_id: id }));
        for job in [
            Job::Media { media_id: id },
            Job::PurgeAccount { user_id: id },
            Job::SendMail { mail_id: id },
        ] {
            assert_eq!(Job::parse(&job.to_body()), Some(job));
        }
        // A tagged media job is still a legacy message to an older worker.
        assert_eq!(
            JobMessage::parse(&Job::Media { media_id: id }.to_body()),
            Some(JobMessage { media_id: id })
        );
        for bad in [
            "",
            "{}",
            r#"{"type":"nope","media_id":"x"}"#,
            r#"{"type":"purge_account"}"#,
            r#"{"type":"send_mail"}"#,
        ] {
            assert_eq!(Job::parse(bad), None, "{bad}");
        }
    }
}
