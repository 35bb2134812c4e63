//! Account mail: the outbox the API writes to, the single-use tokens the
//! mails carry, and their delivery by the worker.
//!
//! The API never sends: it inserts an outbox row and queues a
//! `{"type":"send_mail","mail_id":...}` job. The worker mints the token (if
//! the mail carries one) at sending time, stores only its SHA-256, and sends
//! the mail over SMTP. A mail server that is down leaves the row `pending`:
//! the queue redelivers the job, and the API's sweep queues it again until
//! it goes out (or is a day old). An address that bounced or complained is
//! never sent to again.

pub mod bounces;
mod delivery;
mod outbox;
pub mod sender;
mod tokens;

use std::time::Duration;

use uuid::Uuid;

pub use delivery::deliver;
pub use outbox::{
    insert, insert_decision_mail, is_suppressed, queue_mail, requeue_pending, send_later,
};
pub use sender::Mailer;
pub use tokens::{Redeemed, new_token, redeem, revoke_tokens, token_hash};

/// What a mail says; a Postgres enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "mail_kind", rename_all = "snake_case")]
pub enum MailKind {
    VerifyEmail,
    PasswordReset,
    PasswordChanged,
    EmailChange,
    EmailChangeNotice,
    /// To an address's verified owner, when someone else signs up with it
    /// or asks to move their account to it.
    AddressInUse,
    /// A data export is ready: the mail carries its presigned link.
    DataExport,
    /// A statement of reasons (a takedown, a strike, a suspension), with
    /// a link to appeal that works signed out.
    ModerationDecision,
    /// The acknowledgement of a notice, to an address with no account.
    NoticeReceived,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChange => "email_change",
            MailKind::EmailChangeNotice => "email_change_notice",
            MailKind::AddressInUse => "address_in_use",
            MailKind::DataExport => "data_export",
            MailKind::ModerationDecision => "moderation_decision",
            MailKind::NoticeReceived => "notice_received",
        }
    }

    /// The token the mail carries, if any.
    pub fn purpose(self) -> Option<TokenPurpose> {
        match self {
            MailKind::VerifyEmail => Some(TokenPurpose::VerifyEmail),
            MailKind::PasswordReset => Some(TokenPurpose::PasswordReset),
            MailKind::EmailChange => Some(TokenPurpose::EmailChange),
            MailKind::ModerationDecision => Some(TokenPurpose::Appeal),
            MailKind::PasswordChanged
            | MailKind::EmailChangeNotice
            | MailKind::AddressInUse
            | MailKind::DataExport
            | MailKind::NoticeReceived => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "account_token_purpose", rename_all = "snake_case")]
pub enum TokenPurpose {
    VerifyEmail,
    PasswordReset,
    EmailChange,
    /// Appeals the decision its mail states, once.
    Appeal,
}

impl TokenPurpose {
    /// The mail that carries tokens of this purpose.
    pub fn mail_kind(self) -> MailKind {
        match self {
            TokenPurpose::VerifyEmail => MailKind::VerifyEmail,
            TokenPurpose::PasswordReset => MailKind::PasswordReset,
            TokenPurpose::EmailChange => MailKind::EmailChange,
            TokenPurpose::Appeal => MailKind::ModerationDecision,
        }
    }

    /// How long a link works once sent.
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::VerifyEmail | TokenPurpose::EmailChange => Duration::from_secs(24 * 3600),
            TokenPurpose::PasswordReset => Duration::from_secs(30 * 60),
            // DSA Art. 20(1): appeals stay open six months after the decision.
            TokenPurpose::Appeal => APPEAL_LINK_LIFETIME,
        }
    }

    /// The path of the deep link, after `APP_LINK_BASE_URL`.
    pub fn link_path(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "/verify-email",
            TokenPurpose::PasswordReset => "/reset-password",
            TokenPurpose::EmailChange => "/confirm-email",
            TokenPurpose::Appeal => "/appeal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "mail_status", rename_all = "snake_case")]
pub enum MailStatus {
    Pending,
    Sent,
    Failed,
    Suppressed,
    Expired,
}

/// How long a mailed appeal link works: 183 days.
pub const APPEAL_LINK_LIFETIME: Duration = Duration::from_secs(183 * 24 * 3600);

/// A pending mail is given up after this long.
pub const MAIL_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// A pending mail whose job was queued this long ago is queued again.
pub const MAIL_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// A mail to send, written with the change that warrants it.
pub struct NewMail<'a> {
    pub user_id: Uuid,
    pub kind: MailKind,
    pub recipient: &'a str,
    pub new_email: Option<&'a str>,
}

/// What a mail is about when the worker renders it.
pub struct Rendering<'a> {
    pub kind: MailKind,
    pub handle: &'a str,
    pub recipient: &'a str,
    pub new_email: Option<&'a str>,
    /// The deep link, for mails with a token.
    pub link: Option<String>,
    /// What a statement of reasons states.
    pub decision: Option<DecisionSummary>,
}

/// The statement a `moderation_decision` mail carries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DecisionSummary {
    /// `post_takedown`, `story_takedown`, `strike`, `suspension`.
    pub kind: String,
    pub ground: String,
    pub category: Option<String>,
}
