//! The one error type of the application. Domain code returns it; the HTTP
//! edge turns it into the `{"error":{code,message,details}}` body in
//! `http::error`. Codes are stable snake_case strings clients switch on.

use std::collections::BTreeMap;
use std::time::Duration;

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

/// Unique violations become conflicts by constraint name; every other
/// database failure is internal.
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error() {
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
