//! A redis-server of the test's own, which a test may kill, optionally
//! speaking only TLS with a certificate made for it (as managed Redis does).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::watch;

use super::{eventually, free_port, unique};

pub struct PrivateRedis {
    pub child: Child,
    port: u16,
    tls: Option<TlsFiles>,
}

/// A certificate authority and a server certificate for 127.0.0.1 that it
/// signed, made with the openssl CLI.
pub struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    pub fn generate() -> Self {
        let dir = std::env::temp_dir().join(unique("ciel-redis-tls"));
        std::fs::create_dir_all(&dir).unwrap();
        let files = TlsFiles { dir };
        files.openssl(&[], "ca-key.pem", "ca.pem", "/CN=ciel test CA");
        let (ca, ca_key) = (files.ca(), files.dir.join("ca-key.pem"));
        let signer = [
            "-CA",
            path(&ca),
            "-CAkey",
            path(&ca_key),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ];
        files.openssl(&signer, "key.pem", "cert.pem", "/CN=127.0.0.1");
        files
    }

    fn openssl(&self, extra: &[&str], key: &str, cert: &str, subject: &str) {
        let status = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
            .args(["-subj", subject])
            .args(extra)
            .arg("-keyout")
            .arg(self.dir.join(key))
            .arg("-out")
            .arg(self.dir.join(cert))
            .stderr(Stdio::null())
            .status()
            .expect("openssl on PATH");
        assert!(status.success(), "openssl could not make {cert}");
    }

    /// What a client trusts.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn(args: &[&str]) -> Child {
    Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl PrivateRedis {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    pub async fn start_on(port: u16) -> Self {
        Self::start_with(port, &[]).await
    }

    /// With extra redis-server options, e.g. `--maxmemory 4mb`.
    pub async fn start_with(port: u16, options: &[&str]) -> Self {
        let port_arg = port.to_string();
        let mut args = vec!["--port", port_arg.as_str()];
        args.extend_from_slice(options);
        let redis = PrivateRedis {
            child: spawn(&args),
            port,
            tls: None,
        };
        redis.wait_until_up().await;
        redis
    }

    /// Listens for TLS only; clients need not present a certificate.
    pub async fn start_tls() -> Self {
        let tls = TlsFiles::generate();
        let port = free_port();
        let child = spawn(&[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            path(&tls.cert()),
            "--tls-key-file",
            path(&tls.key()),
            "--tls-ca-cert-file",
            path(&tls.ca()),
            "--tls-auth-clients",
            "no",
        ]);
        let redis = PrivateRedis {
            child,
            port,
            tls: Some(tls),
        };
        redis.wait_until_up().await;
        redis
    }

    /// A new, empty server on the same port, as after a crash: Redis keeps
    /// nothing on disk here, as in production.
    pub async fn restart(&mut self) {
        assert!(self.tls.is_none(), "restart serves plain redis only");
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&["--port", &self.port.to_string()]);
        self.wait_until_up().await;
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The CA certificate a client must trust (TLS servers only).
    pub fn ca_cert(&self) -> PathBuf {
        self.tls.as_ref().expect("a TLS redis").ca()
    }

    /// How many keys the server holds, asked over TLS when it speaks TLS.
    pub async fn key_count(&self) -> usize {
        let client = match &self.tls {
            None => redis::Client::open(self.url()).unwrap(),
            Some(tls) => redis::Client::build_with_tls(
                self.url(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(tls.ca()).unwrap()),
                },
            )
            .unwrap(),
        };
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap()
    }

    async fn wait_until_up(&self) {
        let port = self.port;
        eventually(
            Duration::from_secs(10),
            "the private redis",
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
            },
        )
        .await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay in front of a server that a test can cut and restore, as a
/// network partition would: cutting closes the open connections and drops
/// new ones.
pub struct Partition {
    port: u16,
    open: watch::Sender<bool>,
    relay: tokio::task::JoinHandle<()>,
}

impl Partition {
    pub async fn in_front_of(target_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, _) = watch::channel(true);
        let state = open.subscribe();
        let relay = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *state.borrow() {
                    tokio::spawn(relay(client, target_port, state.clone()));
                }
            }
        });
        Partition { port, open, relay }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}

async fn relay(
    mut client: tokio::net::TcpStream,
    target_port: u16,
    mut open: watch::Receiver<bool>,
) {
    let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", target_port)).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = open.wait_for(|open| !*open) => {}
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.relay.abort();
    }
}
