//! The queue's vocabulary, shared by everything that queues or runs a job:
//! the job message, what running one came to, and the failure that asks
//! for a redelivery. Media, mail and the account purge queue their jobs
//! here; the worker delivers them to their module.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::infra::queue::Queue;

/// Every job the queue carries. Tagged by `type`; a body without one is a
/// media job of the first format (`{"media_id": …}`), still understood.
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
    /// Derives a ready photo's variants again from its original, which may
    /// have to be restored first (`media::originals`); the photo stays
    /// ready, served by its current variants, meanwhile.
    Reprocess {
        media_id: Uuid,
    },
    /// One push of the push outbox (`push::deliver`).
    SendPush {
        push_id: Uuid,
    },
    /// Builds a data export (`social::export`); only the long-polling
    /// worker and the dev process take it.
    BuildExport {
        export_id: Uuid,
    },
}

/// The body of a media job as the first releases wrote it, before job types.
#[derive(Deserialize)]
struct FirstFormat {
    media_id: Uuid,
}

impl Job {
    pub fn to_body(self) -> String {
        serde_json::to_string(&self).expect("a job serialises")
    }

    pub fn parse(body: &str) -> Option<Self> {
        serde_json::from_str::<Job>(body).ok().or_else(|| {
            serde_json::from_str::<FirstFormat>(body)
                .ok()
                .map(|FirstFormat { media_id }| Job::Media { media_id })
        })
    }

    /// The label of this job's metrics.
    pub fn kind(self) -> &'static str {
        match self {
            Job::Media { .. } => "media",
            Job::PurgeAccount { .. } => "purge_account",
            Job::SendMail { .. } => "send_mail",
            Job::Reprocess { .. } => "reprocess",
            Job::SendPush { .. } => "send_push",
            Job::BuildExport { .. } => "build_export",
        }
    }
}

/// Puts a job on the queue. A failure is an outage of the queue.
pub async fn enqueue(queue: &Queue, job: Job) -> anyhow::Result<()> {
    queue.send(job.to_body()).await
}

/// What running a job came to; every outcome acknowledges the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    /// The job cannot succeed (an unreadable photo, a refused mail); the
    /// failure is recorded on its row.
    Failed {
        code: &'static str,
    },
    /// Nothing to do: a duplicate, a late message, or a deleted row.
    Skipped,
    /// The message names no job; it is recorded and dropped.
    Unreadable,
    /// The job needs an original being restored from a cold class: the
    /// wait is recorded (`media::originals`), which queues the job again
    /// once the original is readable.
    Waiting,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Unreadable => "unreadable",
            Outcome::Waiting => "waiting",
        }
    }
}

/// A failure that may pass (storage or database unavailable): the message
/// is left to the queue, which delivers it again.
#[derive(Debug, thiserror::Error)]
#[error("transient failure: {0:#}")]
pub struct Transient(#[from] pub anyhow::Error);

impl From<crate::error::Error> for Transient {
    fn from(e: crate::error::Error) -> Self {
        Transient(anyhow::Error::new(e))
    }
}

impl From<sqlx::Error> for Transient {
    fn from(e: sqlx::Error) -> Self {
        Transient(anyhow::Error::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_message_formats_parse() {
        let id = Uuid::now_v7();
        let first = format!(r#"{{"media_id":"{id}"}}"#);
        assert_eq!(Job::parse(&first), Some(Job::Media { media_id: id }));
        for job in [
            Job::Media { media_id: id },
            Job::PurgeAccount { user_id: id },
            Job::SendMail { mail_id: id },
            Job::Reprocess { media_id: id },
            Job::SendPush { push_id: id },
            Job::BuildExport { export_id: id },
        ] {
            assert_eq!(Job::parse(&job.to_body()), Some(job));
        }
        // A tagged media job is still a first-format message to an older worker.
        let tagged = Job::Media { media_id: id }.to_body();
        let older: FirstFormat = serde_json::from_str(&tagged).unwrap();
        assert_eq!(older.media_id, id);
        for bad in [
            "",
            "{}",
            r#"{"type":"nope","media_id":"x"}"#,
            r#"{"type":"purge_account"}"#,
            r#"{"type":"send_mail"}"#,
            r#"{"type":"send_push"}"#,
        ] {
            assert_eq!(Job::parse(bad), None, "{bad}");
        }
    }
}
