//! The state the API's handlers share.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::Auth;
use crate::config::{RateLimitConfig, Secret};
use crate::infra::queue::Queue;
use crate::infra::s3::Storage;
use crate::ratelimit::RateLimiter;
use crate::social::Db;
use crate::social::feed::Feed;
use crate::social::render::Photos;

/// Everything the API handlers share.
pub struct ApiContext {
    pub db: PgPool,
    pub auth: Arc<Auth>,
    /// Trust levels: the limits of each account's level, strikes, the
    /// admin's decisions.
    pub trust: Arc<crate::trust::Trust>,
    pub limiter: Arc<RateLimiter>,
    pub rate_limits: RateLimitConfig,
    pub storage: Storage,
    pub queue: Queue,
    pub upload_max_bytes: u64,
    /// The primary and the read pool, for the social routes.
    pub social: Db,
    pub urls: Photos,
    pub feed: Feed,
    /// Guards `/v1/admin/*`; without it those routes do not exist.
    pub admin_token: Option<Arc<Secret<String>>>,
    /// Checks `/v1/mail/sns`; without it that route answers 404.
    pub sns: Option<Arc<crate::mail::bounces::SnsVerifier>>,
    /// Purges the CDN in front of the bucket, when there is one.
    pub cdn: Option<Arc<crate::infra::cdn::Purger>>,
    pub signup: crate::config::SignupConfig,
}

impl ApiContext {
    pub fn signup_mode(&self) -> crate::auth::invites::SignupMode {
        if self.signup.invite_only {
            crate::auth::invites::SignupMode::Invite
        } else {
            crate::auth::invites::SignupMode::Open
        }
    }

    /// 403 `terms_not_accepted` unless `user` accepted the terms in force.
    pub async fn require_terms(&self, user: uuid::Uuid) -> crate::error::Result<()> {
        crate::trust::terms::check(&self.db, user, self.signup.terms_version.as_deref()).await
    }

    /// Sends the CDN purges a handler's call just queued, after its answer:
    /// the chores would, within a minute; this makes it seconds.
    pub fn purge_cdn_soon(&self) {
        let Some(cdn) = self.cdn.clone() else { return };
        let db = self.db.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::media::withhold::send_purges(&db, Some(&cdn)).await {
                tracing::warn!(error = %e, "could not send CDN purges; the chores will");
            }
        });
    }
}
