//! A real SMTP server on loopback: aiosmtpd (from PyPI, installed by
//! `scripts/services.sh`) with its Maildir handler, one per test, on a free
//! port. Tests read what it received from the Maildir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::eventually;

/// The Python that has aiosmtpd: `CIEL_TEST_SMTP_PYTHON` (scripts/test sets
/// it), else the project's `.local/venv`, else `python3`.
fn python() -> String {
    if let Ok(python) = std::env::var("CIEL_TEST_SMTP_PYTHON") {
        return python;
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".local/venv/bin/python");
    if venv.exists() {
        return venv.to_string_lossy().into_owned();
    }
    "python3".into()
}

pub struct SmtpServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// The raw message, transfer encodings undone (quoted-printable).
    pub text: String,
    pub raw: String,
}

impl Mail {
    /// The token of the first link in the mail.
    pub fn token(&self) -> String {
        let start = self
            .text
            .find("token=")
            .unwrap_or_else(|| panic!("no link in the mail: {}", self.text))
            + "token=".len();
        self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    pub fn link(&self) -> String {
        let start = self.text.find("http").expect("a link");
        self.text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect()
    }
}

fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header(raw: &str, name: &str) -> String {
    raw.lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default()
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_on(super::free_port()).await
    }

    pub async fn start_on(port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ciel-smtp-{}-{port}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(python())
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir.join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (scripts/services.sh installs it)");
        let server = SmtpServer {
            port,
            dir,
            child: Some(child),
        };
        eventually(Duration::from_secs(20), "aiosmtpd to listen", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let new = self.dir.join("maildir/new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| std::fs::read_to_string(path).ok())
            .map(|raw| Mail {
                to: header(&raw, "X-RcptTo"),
                subject: header(&raw, "Subject"),
                text: decode_quoted_printable(&raw),
                raw,
            })
            .collect()
    }

    /// Mails to `to` whose subject contains `subject`.
    pub fn mails_to(&self, to: &str, subject: &str) -> Vec<Mail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject))
            .collect()
    }

    /// Waits for the `n`th (1-based) mail to `to` with `subject` in its subject.
    pub async fn nth_mail(&self, n: usize, to: &str, subject: &str) -> Mail {
        eventually(
            Duration::from_secs(30),
            &format!("mail #{n} to {to} about {subject:?}"),
            || async { self.mails_to(to, subject).into_iter().nth(n - 1) },
        )
        .await
    }

    pub async fn mail(&self, to: &str, subject: &str) -> Mail {
        self.nth_mail(1, to, subject).await
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
