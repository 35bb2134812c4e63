//! Account mail, read by the modes that handle jobs.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::env::{Env, check_http_url};
use super::{ConfigError, Mode, Secret};

/// Account mail (`SMTP_URL`, `MAIL_FROM`, `APP_LINK_BASE_URL`), read by
/// the modes that handle jobs. All optional: without `SMTP_URL` the dev
/// process logs each mail's link, and the workers keep mail jobs pending
/// (retried) rather than lose them.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://`, `smtps://` (TLS) or `smtp://...?tls=required` (STARTTLS),
    /// with the credentials in the user info. Holds a secret.
    pub smtp_url: Option<Secret<String>>,
    /// The sender, `Name <address>` or a bare address.
    pub from: Mailbox,
    /// Base URL of the links in the mails, without a trailing slash.
    pub link_base_url: String,
    /// Log the link instead of failing when there is no `SMTP_URL` (dev).
    pub log_without_smtp: bool,
}

pub const DEFAULT_MAIL_FROM: &str = "Ciel <no-reply@localhost>";
pub const DEFAULT_LINK_BASE_URL: &str = "http://localhost:8080/app";

pub(super) fn mail(env: &Env, mode: Mode) -> Result<MailConfig, ConfigError> {
    let smtp_url = env.get("SMTP_URL");
    if let Some(url) = &smtp_url {
        // The URL holds the password: name the problem, never the value.
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(ConfigError {
                var: "SMTP_URL",
                problem: "is malformed: expected an smtp:// or smtps:// URL".into(),
            });
        }
        // The transport's own parser, so that what passes here builds.
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|_| ConfigError {
            var: "SMTP_URL",
            problem: "is malformed: expected smtp[s]://user:password@host:port".into(),
        })?;
    }
    let needed = |var: &'static str, default: &str| match env.get(var) {
        Some(value) => Ok(value),
        None if smtp_url.is_none() => Ok(default.to_string()),
        None => Err(ConfigError {
            var,
            problem: "is missing (SMTP_URL is set)".into(),
        }),
    };
    let from: Mailbox = needed("MAIL_FROM", DEFAULT_MAIL_FROM)?
        .parse()
        .map_err(|_| ConfigError {
            var: "MAIL_FROM",
            problem: "is malformed: expected `Name <address@domain>` or an address".into(),
        })?;
    let link_base_url = needed("APP_LINK_BASE_URL", DEFAULT_LINK_BASE_URL)?;
    check_http_url("APP_LINK_BASE_URL", &link_base_url)?;
    if link_base_url.contains(['?', '#']) {
        return Err(ConfigError {
            var: "APP_LINK_BASE_URL",
            problem: "is malformed: no query or fragment; the links add their own".into(),
        });
    }
    Ok(MailConfig {
        smtp_url: smtp_url.map(Secret::new),
        from,
        link_base_url: link_base_url.trim_end_matches('/').to_string(),
        log_without_smtp: mode == Mode::Dev,
    })
}
