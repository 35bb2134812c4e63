//! Push notifications to phones: the devices an app registers (each bound
//! to its session), the user's push settings, the push outbox, and its
//! delivery through APNs and FCM by the worker.
//!
//! The API never sends. The transaction that writes a notification writes
//! one outbox row per device that wants it (likes of one post coalesce into
//! one pending row), the request then queues `{"type":"send_push",...}`
//! jobs, and a worker sends them. Everything is checked again at send time
//! (undone, blocked, settings, session ended), so nothing taken back goes
//! out. A provider that is down or throttles leaves the row pending with a
//! back-off; the API's sweep queues it again once due, and gives it up
//! after a day. Payloads carry handles and ids, never caption or comment
//! text: lock screens are public.

mod apns;
mod badge;
mod client;
mod delivery;
pub mod devices;
mod fcm;
mod jwt;
mod outbox;
mod payload;
pub mod settings;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use badge::unread_count;
pub(crate) use badge::{ACTOR as NOTIFICATION_ACTOR, shown_to as notification_shown_to};
pub use delivery::{Pushers, deliver};
pub use outbox::{queue_written_by, requeue_pending, write};

/// A pending push is given up after this long.
pub const PUSH_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// A push whose job was queued this long ago, or never queued though
/// written this long ago, is queued again by the sweep.
pub const PUSH_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema)]
#[sqlx(type_name = "push_provider", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Apns,
    Fcm,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Apns => "apns",
            Provider::Fcm => "fcm",
        }
    }
}

/// Which APNs host a device token belongs to (FCM has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema)]
#[sqlx(type_name = "push_environment", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Production,
    Sandbox,
}

/// Whose notifications of a kind are pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema)]
#[sqlx(type_name = "push_audience", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Everyone,
    /// Only from people the user follows.
    Following,
    Off,
}

/// Whether moderation notices are pushed: they come from no one, so there
/// is no "people I follow".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAudience {
    Everyone,
    Off,
}

impl From<ModerationAudience> for Audience {
    fn from(audience: ModerationAudience) -> Self {
        match audience {
            ModerationAudience::Everyone => Audience::Everyone,
            ModerationAudience::Off => Audience::Off,
        }
    }
}

/// Why a provider did not take a push.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The token is dead (APNs 410 `Unregistered`, `BadDeviceToken`; FCM
    /// `UNREGISTERED`, 404): the device is removed, never retried.
    Unregistered(String),
    /// Refused for good (a malformed push): not retried.
    Rejected(String),
    /// Down, throttled or a credential refused: retried, not before `after`.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
}
