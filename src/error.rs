//! The one error type of the application. Domain code returns it; the HTTP
//! edge turns it into the `{"error":{code,message,details}}` body in
//! `http::error`. Codes are stable snake_case strings clients switch on.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::infra::Outage;
use crate::ratelimit::Policy;

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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Unauthorized {
        code: &'static str,
        message: &'static str,
    },
    #[error("{message}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error("{message}")]
    NotFound {
        code: &'static str,
        message: &'static str,
    },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("too many requests")]
    RateLimited {
        policy: Policy,
        retry_after: Duration,
    },
    #[error("{message}")]
    Unavailable {
        code: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn unauthorized(code: &'static str, message: &'static str) -> Self {
        Error::Unauthorized { code, message }
    }

    pub fn not_found(code: &'static str, message: &'static str) -> Self {
        Error::NotFound { code, message }
    }

    pub fn forbidden(code: &'static str, message: &'static str) -> Self {
        Error::Forbidden { code, message }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Error::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// One invalid field, in the same shape as a full validation failure.
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::default();
        fields.add(field, message);
        Error::Validation(fields)
    }
}

/// The answer when a dependency (database, storage, queue) is down.
pub const UNAVAILABLE_CODE: &str = "service_unavailable";
pub const UNAVAILABLE_MESSAGE: &str = "a service this request needs is unavailable; retry shortly";

impl Error {
    pub fn service_unavailable() -> Self {
        Error::Unavailable {
            code: UNAVAILABLE_CODE,
            message: UNAVAILABLE_MESSAGE,
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

/// Unique violations become conflicts by constraint name; an unreachable
/// database is unavailable; every other database failure is internal.
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if database_unreachable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Error::service_unavailable();
        }
        if let Some(db) = e.as_database_error() {
            // A deadlock or serialization failure aborted the transaction:
            // nothing was written, and the same request would succeed. Logged
            // as an error all the same: a deadlock is a lock-order bug of ours.
            if matches!(db.code().as_deref(), Some("40P01" | "40001")) {
                tracing::error!(error = %e, "transaction aborted by the database; answered 503");
                return Error::service_unavailable();
            }
            // Text the database cannot hold (a NUL): the client sent it.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Error::unprocessable(
                    "invalid_text",
                    "the text holds a character that cannot be stored (NUL)",
                );
            }
            match db.constraint() {
                Some("users_handle_key") => {
                    return Error::Conflict {
                        code: "handle_taken",
                        message: "this handle is already taken",
                    };
                }
                Some("users_email_key") => {
                    return Error::Conflict {
                        code: "email_taken",
                        message: "an account already uses this email",
                    };
                }
                Some("post_media_media_key") => {
                    return Error::unprocessable(
                        "media_in_use",
                        "a photo in media_ids already belongs to another post",
                    );
                }
                _ => {}
            }
        }
        Error::Internal(anyhow::Error::new(e))
    }
}
