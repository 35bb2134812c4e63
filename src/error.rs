//! The one error type of the application. Domain code returns it; the HTTP
//! edge turns it into the `{"error":{code,message,details}}` body in
//! `http::error`. Every code is in one catalogue, [`Code`]: stable snake_case
//! strings clients switch on, each with its status and message.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Policy;

/// A dependency that could not be reached, or failed on its side. It marks
/// an error chain, so that the HTTP edge answers 503 (retry), not 500 (bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {0} is unavailable")]
pub struct Outage(pub &'static str);

impl Outage {
    pub const STORAGE: Outage = Outage("object storage");
    pub const QUEUE: Outage = Outage("queue");
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Per-field validation messages, keyed by the JSON field name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added, the validation error otherwise.
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self))
        }
    }
}

/// Declares the catalogue: each code once, with its HTTP status and the
/// message it answers with unless the site says more.
macro_rules! codes {
    ($($variant:ident = $name:literal, $status:literal, $message:literal;)*) => {
        /// Every code an error answer can carry: the stable snake_case
        /// strings clients switch on (`error.code`). Never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(as = ErrorCode)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The HTTP status of every answer with this code.
            pub fn status(self) -> u16 {
                match self { $(Code::$variant => $status,)* }
            }

            /// The message, unless the site gives a more precise one.
            pub fn message(self) -> &'static str {
                match self { $(Code::$variant => $message,)* }
            }
        }
    };
}

codes! {
    InvalidJson = "invalid_json", 400, "the body is not valid JSON";
    InvalidBody = "invalid_body", 400, "the body cannot be read";
    InvalidCursor = "invalid_cursor", 400, "the cursor is not one this API gave out";
    InvalidIdempotencyKey = "invalid_idempotency_key", 400, "Idempotency-Key must be 1 to 255 visible ASCII characters";
    InvalidOrExpiredToken = "invalid_or_expired_token", 400, "this link is not valid: it was already used, it expired, or a newer one replaced it; ask for a new one";
    MissingToken = "missing_token", 401, "this endpoint needs an access token";
    InvalidToken = "invalid_token", 401, "the access token is not valid";
    TokenExpired = "token_expired", 401, "the access token has expired; refresh it";
    SessionRevoked = "session_revoked", 401, "this session has ended; sign in again";
    InvalidCredentials = "invalid_credentials", 401, "the login or the password is wrong";
    InvalidRefreshToken = "invalid_refresh_token", 401, "this refresh token is not valid; sign in again";
    RefreshTokenExpired = "refresh_token_expired", 401, "this refresh token has expired; sign in again";
    RefreshTokenReused = "refresh_token_reused", 401, "this refresh token was already used; the session has been ended, sign in again";
    AdminTokenRequired = "admin_token_required", 401, "this endpoint needs the admin token";
    CsrfTokenInvalid = "csrf_token_invalid", 403, "the form's CSRF token is missing or wrong: reload the page and send it again";
    MetricsTokenRequired = "metrics_token_required", 401, "this endpoint needs the metrics token";
    AccountSuspended = "account_suspended", 403, "this account is suspended";
    InviteRequired = "invite_required", 403, "sign-up is by invitation: an invite code is needed";
    InviteInvalid = "invite_invalid", 403, "this invite code is not valid (unknown, used up, revoked or expired)";
    InviteQuotaExhausted = "invite_quota_exhausted", 403, "you have no invites left for now";
    WrongPassword = "wrong_password", 403, "the current password is not right; nothing was changed";
    NotPostAuthor = "not_post_author", 403, "only the author can delete a post";
    NotCommentAuthor = "not_comment_author", 403, "only the comment's author or the post's author can delete it";
    CannotFollowSelf = "cannot_follow_self", 403, "you cannot follow yourself";
    CannotBlockSelf = "cannot_block_self", 403, "you cannot block yourself";
    AccountPrivate = "account_private", 403, "this account is private: only its approved followers see its posts, lists and stories";
    CannotMuteSelf = "cannot_mute_self", 403, "you cannot mute yourself";
    CannotAddSelf = "cannot_add_self", 403, "you cannot add yourself to your close friends";
    NotStoryAuthor = "not_story_author", 403, "only the story's author can do this";
    CannotReactToOwnStory = "cannot_react_to_own_story", 403, "you cannot react to your own story";
    TermsNotAccepted = "terms_not_accepted", 403, "accept the current terms first (`POST /v1/me/terms`)";
    NotFound = "not_found", 404, "no such endpoint";
    InvalidEmoji = "invalid_emoji", 400, "a reaction is one emoji (at most 32 bytes)";
    InvalidDeviceToken = "invalid_device_token", 400, "this token is not a device token of the provider named";
    UserNotFound = "user_not_found", 404, "no user with this handle";
    InviteNotFound = "invite_not_found", 404, "you have no invite with this code";
    PostNotFound = "post_not_found", 404, "no post with this id";
    CommentNotFound = "comment_not_found", 404, "no comment with this id";
    FollowRequestNotFound = "follow_request_not_found", 404, "this user has no follow request waiting for you";
    StoryNotFound = "story_not_found", 404, "no story with this id that you may see (stories expire after 24 hours)";
    HighlightNotFound = "highlight_not_found", 404, "no highlight with this id that you may see";
    MediaNotFound = "media_not_found", 404, "no media with this id";
    SessionNotFound = "session_not_found", 404, "no active session with this id";
    ReportTargetNotFound = "report_target_not_found", 404, "nothing to report with this id";
    BlockedHashNotFound = "blocked_hash_not_found", 404, "no block-list entry with this id";
    QuarantineNotFound = "quarantine_not_found", 404, "no photo with this id is waiting for review";
    ReportNotFound = "report_not_found", 404, "no report with this id";
    StrikeNotFound = "strike_not_found", 404, "no strike with this id";
    FilterNotFound = "filter_not_found", 404, "you have no filter with this id";
    ExportNotFound = "export_not_found", 404, "you have no data export (they are deleted a week after they were asked for)";
    HoldNotFound = "hold_not_found", 404, "no legal hold with this id";
    HoldTargetNotFound = "hold_target_not_found", 404, "no post, photo or account with this id";
    DecisionNotFound = "decision_not_found", 404, "no moderation decision about you with this id";
    AppealNotFound = "appeal_not_found", 404, "no appeal of a decision with this id";
    HashtagNotFound = "hashtag_not_found", 404, "no hashtag by this name: a hashtag is 1 to 100 letters, digits, marks or underscores, not all digits";
    MethodNotAllowed = "method_not_allowed", 405, "this endpoint does not take this method";
    RequestTimeout = "request_timeout", 408, "the request took longer than 30 s";
    HandleTaken = "handle_taken", 409, "this handle is already taken";
    EmailTaken = "email_taken", 409, "an account already uses this email";
    HashAlreadyBlocked = "hash_already_blocked", 409, "this hash is already on the block list";
    BlockListFull = "block_list_full", 409, "the block list has reached its bound; remove entries first";
    EmailAlreadyVerified = "email_already_verified", 409, "this account's email address is already verified";
    ExportTooSoon = "export_too_soon", 409, "you asked for a data export less than 24 hours ago; GET /v1/me/export shows it";
    ReportAlreadyResolved = "report_already_resolved", 409, "this report has been resolved already; a wrong strike is withdrawn instead";
    FiltersFull = "filters_full", 409, "you have the most filters one may have (20): delete one first";
    AlreadyAppealed = "already_appealed", 409, "this decision was appealed already: one appeal per decision";
    AppealAlreadyDecided = "appeal_already_decided", 409, "this appeal has its answer already";
    TermsVersionNotCurrent = "terms_version_not_current", 409, "these are not the terms in force: show the current ones (TERMS_VERSION) and send their version";
    PayloadTooLarge = "payload_too_large", 413, "the request body is too large";
    UnsupportedMediaType = "unsupported_media_type", 415, "send the body as JSON with `Content-Type: application/json`";
    ValidationFailed = "validation_failed", 422, "the request has invalid fields";
    InvalidText = "invalid_text", 422, "the text holds a character that cannot be stored (NUL)";
    IdempotencyKeyReused = "idempotency_key_reused", 422, "this Idempotency-Key was used with a different request";
    MediaNotReady = "media_not_ready", 422, "every photo must have finished processing (status `ready`)";
    MediaInUse = "media_in_use", 422, "a photo in media_ids already belongs to another post";
    MediaQuarantined = "media_quarantined", 422, "this photo is held for review: it resembles a photo that was removed, and cannot be used unless a moderator releases it";
    UnsupportedContentType = "unsupported_content_type", 422, "this content type is not accepted";
    FileTooLarge = "file_too_large", 422, "the file is larger than uploads may be";
    UploadMissing = "upload_missing", 422, "the file has not been uploaded yet";
    UploadSizeMismatch = "upload_size_mismatch", 422, "the uploaded file does not have the declared size; upload it again";
    EmailUnchanged = "email_unchanged", 422, "this is already the account's address";
    CloseFriendsFull = "close_friends_full", 422, "your close friends list is full (5,000 people)";
    HighlightsFull = "highlights_full", 422, "you have the most highlights one may have (100)";
    HashtagFollowsFull = "hashtag_follows_full", 422, "you follow the most hashtags one may follow (500); unfollow some first";
    RateLimited = "rate_limited", 429, "too many requests";
    WorkerBusy = "worker_busy", 429, "no job slot of this instance became free in time; retry later";
    InternalError = "internal_error", 500, "something went wrong on our side";
    ServiceUnavailable = "service_unavailable", 503, "a service this request needs is unavailable; retry shortly";
    StorageUnavailable = "storage_unavailable", 503, "storage cannot be reached right now; retry shortly";
    QueueUnavailable = "queue_unavailable", 503, "processing cannot be started right now; retry shortly";
    TooManyConnections = "too_many_connections", 503, "the server is at its connection limit";
    TransientFailure = "transient_failure", 503, "the job could not finish now and will be retried";
}

impl Code {
    /// This code's answer with a message more precise than its default.
    pub fn with_message(self, message: impl Into<Cow<'static, str>>) -> Error {
        Error::Api {
            code: self,
            message: message.into(),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    /// An answer of the catalogue: its status is the code's.
    #[error("{message}")]
    Api {
        code: Code,
        message: Cow<'static, str>,
    },
    #[error("too many requests")]
    RateLimited {
        policy: Policy,
        retry_after: Duration,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Code> for Error {
    fn from(code: Code) -> Self {
        Error::Api {
            code,
            message: Cow::Borrowed(code.message()),
        }
    }
}

impl Error {
    /// One invalid field, in the same shape as a full validation failure.
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::default();
        fields.add(field, message);
        Error::Validation(fields)
    }

    /// The code this error answers with.
    pub fn code(&self) -> Code {
        match self {
            Error::Validation(_) => Code::ValidationFailed,
            Error::Api { code, .. } => *code,
            Error::RateLimited { .. } => Code::RateLimited,
            Error::Internal(e) if Error::is_outage(e) => Code::ServiceUnavailable,
            Error::Internal(_) => Code::InternalError,
        }
    }

    /// Whether an internal error is in fact an outage of a dependency.
    pub fn is_outage(e: &anyhow::Error) -> bool {
        e.chain().any(|cause| {
            cause.downcast_ref::<Outage>().is_some()
                || cause
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(database_unreachable)
        })
    }
}

/// The database cannot serve now (down, restarting, out of connections),
/// as opposed to rejecting this query.
pub fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        // A connection cut mid-exchange (a restarting server, a proxy):
        // never the client's doing.
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; 57P0x: shutting down or starting
        // up; 53300: too many connections.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

/// An unreachable
/// database is unavailable; every other database failure is internal.
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if database_unreachable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Code::ServiceUnavailable.into();
        }
        if let Some(db) = e.as_database_error() {
            // A deadlock or serialization failure aborted the transaction:
            // nothing was written, and the same request would succeed. Logged
            // as an error all the same: a deadlock is a lock-order bug of ours.
            if matches!(db.code().as_deref(), Some("40P01" | "40001")) {
                tracing::error!(error = %e, "transaction aborted by the database; answered 503");
                return Code::ServiceUnavailable.into();
            }
            // Text the database cannot hold (a NUL): the client sent it.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Code::InvalidText.into();
            }
        }
        Error::Internal(anyhow::Error::new(e))
    }
}

/// Maps a constraint violation to a code at the query that can meet it, so
/// that the tables' constraints stay with the module that owns them.
pub trait OnConstraint<T> {
    /// `codes`: (constraint name, the code its violation answers).
    fn on_constraint(self, codes: &[(&str, Code)]) -> Result<T>;
}

impl<T> OnConstraint<T> for std::result::Result<T, sqlx::Error> {
    fn on_constraint(self, codes: &[(&str, Code)]) -> Result<T> {
        self.map_err(|e| {
            let violated = e.as_database_error().and_then(|db| db.constraint());
            match codes.iter().find(|(name, _)| Some(*name) == violated) {
                Some((_, code)) => (*code).into(),
                None => e.into(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_serialises_to_its_name_with_a_status_and_a_message() {
        for code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(!code.message().is_empty(), "{code}");
        }
    }
}
