//! SMTP through lettre, and the mails' plain-text and HTML parts (no
//! images, no tracking pixels, no remote content).

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailKind, Rendering, TokenPurpose};
use crate::config::MailConfig;

const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Dev without `SMTP_URL`: the link goes to the log.
    Log,
    /// A worker without `SMTP_URL`: mails stay pending.
    None,
}

/// Why a mail did not go out.
#[derive(Debug)]
pub enum SendError {
    /// Try again later (server down, 4xx, no SMTP configured).
    Transient(String),
    /// The server refused this mail for good (5xx), or its address is unusable.
    Permanent(String),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    link_base_url: String,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("SMTP_URL is malformed"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None if config.log_without_smtp => Transport::Log,
            None => Transport::None,
        };
        Ok(Self {
            transport,
            from: config.from.clone(),
            link_base_url: config.link_base_url.clone(),
        })
    }

    /// The deep link of a token: `{APP_LINK_BASE_URL}{path}?token={token}`.
    pub fn link(&self, purpose: TokenPurpose, token: &str) -> String {
        format!(
            "{}{}?token={token}",
            self.link_base_url,
            purpose.link_path()
        )
    }

    pub async fn send(&self, mail: &Rendering<'_>) -> Result<(), SendError> {
        let transport = match &self.transport {
            Transport::Smtp(transport) => transport,
            Transport::Log => {
                tracing::info!(
                    kind = mail.kind.as_str(),
                    link = mail.link.as_deref().unwrap_or("-"),
                    "no SMTP_URL: mail not sent (dev); its link"
                );
                return Ok(());
            }
            Transport::None => {
                tracing::error!(
                    kind = mail.kind.as_str(),
                    "no SMTP_URL: account mail cannot be sent; it stays pending"
                );
                return Err(SendError::Transient("smtp_not_configured".into()));
            }
        };
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|_| SendError::Permanent("the recipient address is not usable".into()))?;
        let (subject, text, html) = render(mail);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| SendError::Permanent(format!("could not build the message: {e}")))?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `ana@example.org` → `a***@example.org`.
fn masked(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Subject, plain text and HTML of a mail.
pub fn render(mail: &Rendering<'_>) -> (String, String, String) {
    let handle = mail.handle;
    let link = mail.link.as_deref().unwrap_or("");
    let (subject, intro, action, outro) = match mail.kind {
        MailKind::VerifyEmail => (
            "Confirm your email address for Ciel".to_string(),
            format!("Hello @{handle}, please confirm that this address is yours."),
            Some("Confirm my address"),
            "The link works for 24 hours. If you did not sign up to Ciel, ignore this mail."
                .to_string(),
        ),
        MailKind::PasswordReset => (
            "Reset your Ciel password".to_string(),
            format!("Hello @{handle}, someone asked to reset the password of your account."),
            Some("Choose a new password"),
            "The link works once, for 30 minutes. If you did not ask, ignore this mail: your \
             password stays as it is."
                .to_string(),
        ),
        MailKind::PasswordChanged => (
            "Your Ciel password was changed".to_string(),
            format!(
                "Hello @{handle}, the password of your account was just changed, and your \
                 other devices were signed out."
            ),
            None,
            "If you did not do this, reset your password from the app now (\"Forgot password\")."
                .to_string(),
        ),
        MailKind::EmailChange => (
            "Confirm your new email address for Ciel".to_string(),
            format!("Hello @{handle}, confirm that this address should become your account's."),
            Some("Use this address"),
            "The link works once, for 24 hours. Until then, your account keeps its current \
             address. If you did not ask for this, ignore this mail."
                .to_string(),
        ),
        MailKind::EmailChangeNotice => (
            "Your Ciel email address is being changed".to_string(),
            format!(
                "Hello @{handle}, someone signed in to your account asked to change its email \
                 address to {}. The change happens only once that address is confirmed.",
                masked(mail.new_email.unwrap_or(""))
            ),
            None,
            "If this was not you, change your password in the app now: it signs out every \
             other device."
                .to_string(),
        ),
        MailKind::DataExport => (
            "Your Ciel data export is ready".to_string(),
            format!("Hello @{handle}, the copy of your Ciel data that you asked for is ready."),
            Some("Download my data (ZIP)"),
            "The link works for 24 hours; the app shows a fresh one for a week (Settings, \
             Your data), after which the export is deleted. If you did not ask for it, change \
             your password in the app."
                .to_string(),
        ),
        MailKind::AddressInUse => (
            "This address already has a Ciel account".to_string(),
            format!(
                "Hello @{handle}, someone tried to use this address, which is your account's, \
                 for another Ciel account. It stays yours: nothing was changed."
            ),
            None,
            "If it was you, sign in as @{handle} instead (\"Forgot password\" if you need \
             to). If not, ignore this mail."
                .replace("{handle}", handle),
        ),
        MailKind::NoticeReceived => (
            "We received your notice".to_string(),
            "Hello, we received the notice you sent us about content on Ciel. A moderator \
             will review it; we act on notices in the order of their urgency (child safety \
             first)."
                .to_string(),
            None,
            "You receive this mail because this address was given in a notice sent through \
             Ciel's form. If that was not you, ignore it: nothing else will be sent."
                .to_string(),
        ),
        MailKind::ModerationDecision => {
            let (what, ground, category) = match &mail.decision {
                Some(d) => (d.kind.as_str(), d.ground.as_str(), d.category.as_deref()),
                None => ("", "", None),
            };
            let what = match what {
                "post_takedown" => "took down one of your posts",
                "story_takedown" => "took down one of your stories",
                "strike" => "upheld a report about you or your content, which counts as a strike",
                "suspension" => "suspended your account",
                _ => "restricted your account",
            };
            let category = category
                .map(|c| format!(" (reported as: {})", c.replace('_', " ")))
                .unwrap_or_default();
            (
                "A moderation decision about your Ciel account".to_string(),
                format!(
                    "Hello @{handle}, a Ciel moderator {what}. The ground given: \"{ground}\"{category}. \
                     The decisions about you are listed in the app (Settings, Moderation)."
                ),
                Some("Read or appeal this decision"),
                "You may appeal once, within six months, even while your account is suspended: \
                 the link lets you read the decision and write why it is wrong. A person reviews \
                 every appeal; if the decision is reversed, what it restricted is restored."
                    .to_string(),
            )
        }
    };
    let mut text = format!("{intro}\n\n");
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{}</p>",
        escape(&intro)
    );
    if let Some(action) = action {
        text.push_str(&format!("{action}:\n{link}\n\n"));
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p><p>Or paste this link into your browser: {}</p>",
            escape(link),
            escape(action),
            escape(link)
        ));
    }
    text.push_str(&format!("{outro}\n\n-- Ciel\n"));
    html.push_str(&format!(
        "<p>{}</p><p>-- Ciel</p></body></html>",
        escape(&outro)
    ));
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mails_have_both_parts_the_link_and_no_remote_content() {
        let link = "https://links.example.org/reset-password?token=abc_-1".to_string();
        let (subject, text, html) = render(&Rendering {
            kind: MailKind::PasswordReset,
            handle: "ana<b>",
            recipient: "ana@example.org",
            new_email: None,
            link: Some(link.clone()),
            decision: None,
        });
        assert!(subject.contains("Reset"));
        assert!(text.contains(&link));
        assert!(html.contains(&link));
        assert!(html.contains("ana&lt;b&gt;"));
        assert!(!html.contains("<img"));
        let (_, text, _) = render(&Rendering {
            kind: MailKind::EmailChangeNotice,
            handle: "ana",
            recipient: "ana@example.org",
            new_email: Some("nova@example.net"),
            link: None,
            decision: None,
        });
        assert!(text.contains("n***@example.net"));
        assert!(!text.contains("nova@"));
    }
}
