//! Terms versions: sign-up records the version of the terms accepted, and
//! when `TERMS_VERSION` names a newer one, the account accepts it again
//! before it posts, shares a story or comments.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Code, Error, Result};

/// Records that `user` accepted `version`, which must be the current one.
pub async fn accept(db: &PgPool, user: Uuid, version: &str, current: Option<&str>) -> Result<()> {
    require_current(version, current)?;
    sqlx::query(
        "UPDATE users SET terms_version = $2, terms_accepted_at = now()
          WHERE id = $1 AND terms_version IS DISTINCT FROM $2",
    )
    .bind(user)
    .bind(version)
    .execute(db)
    .await?;
    Ok(())
}

/// 409 `terms_version_not_current` unless `version` is the one in force.
pub fn require_current(version: &str, current: Option<&str>) -> Result<()> {
    if current == Some(version) {
        Ok(())
    } else {
        Err(Error::from(Code::TermsVersionNotCurrent))
    }
}

/// Passes when no version is in force or `user` accepted the current one;
/// else 403 `terms_not_accepted`.
pub async fn check(db: &PgPool, user: Uuid, current: Option<&str>) -> Result<()> {
    let Some(current) = current else {
        return Ok(());
    };
    let accepted: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND terms_version = $2)",
    )
    .bind(user)
    .bind(current)
    .fetch_one(db)
    .await?;
    if accepted {
        Ok(())
    } else {
        Err(Error::from(Code::TermsNotAccepted))
    }
}
