//! A PostgreSQL cluster of the test's own (initdb in a temporary folder, on a
//! free port), which a test may restart under load without disturbing the
//! shared server every other test uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::PgPool;

use super::{eventually, free_port, unique};

pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
}

/// The newest server binaries Debian's packages installed.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries under /usr/lib/postgresql")
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().expect("a PostgreSQL version with pg_ctl")
}

/// PostgreSQL refuses to run as root: as root, run its tools as `postgres`.
fn as_server_user(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// `/proc/self` belongs to the process's effective user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn run(mut command: Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl PrivatePostgres {
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(unique("ciel-pg"));
        std::fs::create_dir_all(&dir).unwrap();
        if running_as_root() {
            let mut chown = Command::new("chown");
            chown.arg("postgres:postgres").arg(&dir);
            run(chown, "chown the cluster's folder");
        }
        let pg = PrivatePostgres {
            dir,
            port: free_port(),
        };
        let mut initdb = as_server_user(&bin_dir().join("initdb"));
        initdb
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(pg.data());
        run(initdb, "initdb");
        pg.start_server().await;
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut command = as_server_user(&bin_dir().join("pg_ctl"));
        command.arg("-D").arg(self.data()).args(args);
        command
    }

    async fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        let start = self.pg_ctl(&["-w", "-o", &options, "-l", log.to_str().unwrap(), "start"]);
        tokio::task::spawn_blocking(move || run(start, "pg_ctl start"))
            .await
            .unwrap();
        let url = self.url();
        eventually(Duration::from_secs(30), "the private PostgreSQL", || {
            let url = url.clone();
            async move { PgPool::connect(&url).await.ok().map(drop) }
        })
        .await;
    }

    /// Stops the server as a restart does (`-m fast`: sessions are
    /// terminated, in-flight transactions rolled back).
    pub async fn stop(&self) {
        let stop = self.pg_ctl(&["-w", "-m", "fast", "stop"]);
        tokio::task::spawn_blocking(move || run(stop, "pg_ctl stop"))
            .await
            .unwrap();
    }

    pub async fn start_again(&self) {
        self.start_server().await;
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl(&["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
