//! The host roll, rehearsed on loopback: two API processes (the real binary)
//! behind haproxy, a steady load of reads and writes through it, and
//! `scripts/roll` rolling both to a new binary with the steps it takes on
//! Scaleway (out of the load balancer, SIGTERM with a grace period, the new
//! binary, health gate, back in). Not one request may fail, and every write
//! the API acknowledged must be in the database afterwards.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backing, PASSWORD, eventually, free_port, unique};

const INSTANCES: [&str; 2] = ["a", "b"];

fn tool(name: &str) -> Option<PathBuf> {
    crate::common::system_tool(name, "ensure_roll_tools")
}

/// The host's start script, as `ciel-start IMAGE` on an instance: the
/// running app gets SIGTERM and up to 35 s to drain (docker stop -t 35),
/// then IMAGE starts with the host's environment.
const START: &str = r#"#!/usr/bin/env bash
set -euo pipefail
image=$1
host="$ROLL_DIR/$ROLL_HOST"
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
if [ -s "$host/pid" ]; then
    pid=$(cat "$host/pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 350); do gone "$pid" && break; sleep 0.1; done
    gone "$pid" || kill -KILL "$pid"
fi
printf '%s\n' "$image" > "$host/image"
set -a
. "$host/env"
set +a
setsid "$image" >>"$host/log" 2>&1 </dev/null &
echo $! > "$host/pid"
"#;

/// What a host runs, which a failed host is put back on.
const CURRENT: &str = r#"cat "$ROLL_DIR/$ROLL_HOST/image""#;

const HEALTH: &str = r#"curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$(cat "$ROLL_DIR/$ROLL_HOST/port")/ready""#;

/// haproxy's admin socket: out of the backend, and back only once up.
const DRAIN: &str = r#"
hap() { printf '%s\n' "$1" | socat - "UNIX-CONNECT:$ROLL_DIR/admin.sock"; }
field() { hap "show stat" | awk -F, -v s="$ROLL_HOST" -v c="$1" '$1 == "ciel" && $2 == s { print $c }'; }
hap "set server ciel/$ROLL_HOST state maint" >/dev/null
for _ in $(seq 1 200); do [ "$(field 5)" = 0 ] && exit 0; sleep 0.05; done
echo "requests still in flight on $ROLL_HOST" >&2
exit 1
"#;

const RESTORE: &str = r#"
hap() { printf '%s\n' "$1" | socat - "UNIX-CONNECT:$ROLL_DIR/admin.sock"; }
hap "set server ciel/$ROLL_HOST state ready" >/dev/null
for _ in $(seq 1 200); do
    [ "$(hap "show stat" | awk -F, -v s="$ROLL_HOST" '$1 == "ciel" && $2 == s { print $18 }')" = UP ] && exit 0
    sleep 0.05
done
echo "$ROLL_HOST is not up in haproxy" >&2
exit 1
"#;

struct Rehearsal {
    dir: PathBuf,
    haproxy: Child,
}

impl Drop for Rehearsal {
    fn drop(&mut self) {
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
        for host in INSTANCES {
            if let Ok(pid) = std::fs::read_to_string(self.dir.join(host).join("pid")) {
                let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Two "images" of the binary (the roll must move each host from v1 to v2).
fn images(dir: &Path) -> (PathBuf, PathBuf) {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_ciel"));
    let mut out = Vec::new();
    for version in ["v1", "v2"] {
        std::fs::create_dir_all(dir.join(version)).unwrap();
        let image = dir.join(version).join("ciel");
        std::os::unix::fs::symlink(&binary, &image).unwrap();
        out.push(image);
    }
    (out[0].clone(), out[1].clone())
}

fn env_file(env: &HashMap<&'static str, String>, port: u16) -> String {
    let mut lines: Vec<String> = env
        .iter()
        .filter(|(k, _)| **k != "HTTP_ADDR")
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    lines.push(format!("HTTP_ADDR=127.0.0.1:{port}"));
    lines.push("LOG_FORMAT=json".into());
    lines.sort();
    lines.join("\n") + "\n"
}

/// A strict load balancer: no retry and no redispatch, so a request sent
/// to a stopping host fails (Scaleway's LB redispatches once, a second line
/// of defence the rehearsal leaves out: the drain alone must do).
fn haproxy_config(dir: &Path, front: u16, ports: &[u16]) -> String {
    let servers: String = INSTANCES
        .iter()
        .zip(ports)
        .map(|(name, port)| {
            format!("  server {name} 127.0.0.1:{port} check inter 300ms fall 2 rise 1\n")
        })
        .collect();
    format!(
        "global\n  stats socket {}/admin.sock mode 600 level admin\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n\
         \x20 retries 0\n\
         frontend api\n  bind 127.0.0.1:{front}\n  default_backend ciel\n\
         backend ciel\n  option httpchk GET /ready\n{servers}",
        dir.display()
    )
}

#[derive(Default)]
struct Load {
    ok: AtomicUsize,
    failed: std::sync::Mutex<Vec<String>>,
    written: std::sync::Mutex<Vec<String>>,
}

async fn writer(client: reqwest::Client, base: String, load: Arc<Load>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let handle = unique("roll");
        let reply = client
            .post(format!("{base}/v1/auth/register"))
            .json(&json!({ "handle": handle, "email": format!("{handle}@example.org"), "password": PASSWORD }))
            .send()
            .await;
        match reply {
            Ok(r) if r.status() == StatusCode::CREATED => {
                load.ok.fetch_add(1, Ordering::Relaxed);
                load.written.lock().unwrap().push(handle);
            }
            Ok(r) => load
                .failed
                .lock()
                .unwrap()
                .push(format!("register: {}", r.status())),
            Err(e) => load.failed.lock().unwrap().push(format!("register: {e}")),
        }
    }
}

async fn reader(
    client: reqwest::Client,
    base: String,
    token: String,
    load: Arc<Load>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let reply = client
            .get(format!("{base}/v1/me"))
            .bearer_auth(&token)
            .send()
            .await;
        match reply {
            Ok(r) if r.status() == StatusCode::OK => {
                load.ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => load
                .failed
                .lock()
                .unwrap()
                .push(format!("GET /v1/me: {}", r.status())),
            Err(e) => load.failed.lock().unwrap().push(format!("GET /v1/me: {e}")),
        }
    }
}

/// Runs scripts/roll here against the rehearsal's hosts, at most `limit`
/// (killed past it); its output goes to files, read once it exited.
async fn run_roll(
    dir: &Path,
    image: &Path,
    hosts: &Path,
    drain: bool,
    health_timeout: &str,
    limit: Duration,
) -> (bool, String) {
    let (out, err) = (dir.join("roll.out"), dir.join("roll.err"));
    let mut child = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/roll"))
        .arg(image)
        .arg(hosts)
        .env("ROLL_EXEC", "local")
        .env("ROLL_DIR", dir)
        .env("CIEL_START", dir.join("start"))
        .env("CIEL_HEALTH", HEALTH)
        .env("LB_DRAIN", if drain { DRAIN } else { "true" })
        .env("LB_RESTORE", if drain { RESTORE } else { "true" })
        .env("CIEL_CURRENT", CURRENT)
        .env("HEALTH_TIMEOUT", health_timeout)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("scripts/roll");
    let deadline = tokio::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = format!(
        "{}{}",
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    match status {
        Some(s) => (s.success(), output),
        None => (false, format!("killed after {limit:?}:\n{output}")),
    }
}

/// What a rehearsed roll left: the failed requests, how many succeeded
/// while it ran, and the acknowledged writes with how many the database has.
struct Report {
    failed: Vec<String>,
    during_roll: usize,
    written: usize,
    found: usize,
}

/// Two hosts on v1 behind haproxy, the load, `scripts/roll` to v2 (with the
/// LB drain, or with none), the load stopped: both hosts must run v2.
/// Two API hosts on v1 behind haproxy, both serving through it.
struct Hosts {
    rehearsal: Rehearsal,
    backing: Backing,
    dir: PathBuf,
    v1: PathBuf,
    v2: PathBuf,
    base: String,
    client: reqwest::Client,
}

async fn two_hosts_behind_haproxy() -> Option<Hosts> {
    let (Some(haproxy), Some(_), Some(_)) = (tool("haproxy"), tool("socat"), tool("curl")) else {
        return None;
    };
    let backing = Backing::new().await;
    let dir = std::env::temp_dir().join(unique("ciel-roll"));
    std::fs::create_dir_all(&dir).unwrap();
    let (v1, v2) = images(&dir);
    write_exec(&dir.join("start"), START);

    let env = backing.env("api");
    let ports: Vec<u16> = INSTANCES.iter().map(|_| free_port()).collect();
    for (host, port) in INSTANCES.iter().zip(&ports) {
        let host_dir = dir.join(host);
        std::fs::create_dir_all(&host_dir).unwrap();
        std::fs::write(host_dir.join("env"), env_file(&env, *port)).unwrap();
        std::fs::write(host_dir.join("port"), port.to_string()).unwrap();
        let started = Command::new(dir.join("start"))
            .arg(&v1)
            .env("ROLL_DIR", &dir)
            .env("ROLL_HOST", host)
            .status()
            .unwrap();
        assert!(started.success());
    }
    let front = free_port();
    std::fs::write(dir.join("haproxy.cfg"), haproxy_config(&dir, front, &ports)).unwrap();
    let rehearsal = Rehearsal {
        haproxy: Command::new(haproxy)
            .args(["-db", "-f"])
            .arg(dir.join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        dir: dir.clone(),
    };

    let base = format!("http://127.0.0.1:{front}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    // Both hosts up behind the LB before anything else.
    for port in &ports {
        let url = format!("http://127.0.0.1:{port}/ready");
        eventually(Duration::from_secs(30), "an API host's /ready", || {
            let client = client.clone();
            let url = url.clone();
            async move { (client.get(&url).send().await.ok()?.status() == StatusCode::OK).then_some(()) }
        })
        .await;
    }
    eventually(Duration::from_secs(10), "haproxy to serve", || {
        let client = client.clone();
        let url = format!("{base}/ready");
        async move { (client.get(&url).send().await.ok()?.status() == StatusCode::OK).then_some(()) }
    })
    .await;
    Some(Hosts {
        rehearsal,
        backing,
        dir,
        v1,
        v2,
        base,
        client,
    })
}

async fn rehearse(drain: bool) -> Option<Report> {
    let Hosts {
        rehearsal,
        backing,
        dir,
        v1: _,
        v2,
        base,
        client,
    } = two_hosts_behind_haproxy().await?;

    let reader_handle = unique("reader");
    let registered: Value = client
        .post(format!("{base}/v1/auth/register"))
        .json(&json!({ "handle": reader_handle, "email": format!("{reader_handle}@example.org"), "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = registered["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {registered}"))
        .to_string();

    let load = Arc::new(Load::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        tasks.push(tokio::spawn(writer(
            client.clone(),
            base.clone(),
            load.clone(),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(reader(
            client.clone(),
            base.clone(),
            token.clone(),
            load.clone(),
            stop.clone(),
        )));
    }
    eventually(Duration::from_secs(30), "a steady load", || {
        let load = load.clone();
        async move { (load.ok.load(Ordering::Relaxed) >= 20).then_some(()) }
    })
    .await;
    let before_roll = load.ok.load(Ordering::Relaxed);
    let pids_before: Vec<String> = INSTANCES
        .iter()
        .map(|h| std::fs::read_to_string(dir.join(h).join("pid")).unwrap())
        .collect();

    let hosts = dir.join("hosts");
    std::fs::write(&hosts, "api a\napi b\n").unwrap();
    let (rolled, roll_output) =
        run_roll(&dir, &v2, &hosts, drain, "30", Duration::from_secs(120)).await;
    let during_roll = load.ok.load(Ordering::Relaxed) - before_roll;
    // A few more requests on the new binary before the load stops.
    let after = load.ok.load(Ordering::Relaxed);
    eventually(Duration::from_secs(30), "requests after the roll", || {
        let load = load.clone();
        async move { (load.ok.load(Ordering::Relaxed) >= after + 10).then_some(()) }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    let log = |h: &str| std::fs::read_to_string(dir.join(h).join("log")).unwrap_or_default();
    assert!(
        rolled,
        "scripts/roll failed:\n{roll_output}\nhost a:\n{}\nhost b:\n{}",
        log("a"),
        log("b")
    );
    assert!(roll_output.contains("rolled 2 host(s)"), "{roll_output}");
    for (host, pid_before) in INSTANCES.iter().zip(&pids_before) {
        let image = std::fs::read_to_string(dir.join(host).join("image")).unwrap();
        assert_eq!(
            image.trim(),
            v2.display().to_string(),
            "{host} runs the new binary"
        );
        let pid = std::fs::read_to_string(dir.join(host).join("pid")).unwrap();
        assert_ne!(&pid, pid_before, "{host} was restarted");
    }
    let failed = load.failed.lock().unwrap().clone();
    let written = load.written.lock().unwrap().clone();
    let pool = backing.pool().await;
    let (found,): (i64,) = sqlx::query_as("SELECT count(*) FROM users WHERE handle = ANY($1)")
        .bind(&written)
        .fetch_one(&pool)
        .await
        .unwrap();
    eprintln!(
        "roll rehearsal (drain: {drain}): {} requests ok ({during_roll} during the roll), {} writes, {} failed",
        load.ok.load(Ordering::Relaxed),
        written.len(),
        failed.len()
    );
    drop(rehearsal);
    Some(Report {
        failed,
        during_roll,
        written: written.len(),
        found: found as usize,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_both_api_hosts_behind_the_lb_fails_no_request_and_keeps_every_write() {
    let Some(report) = rehearse(true).await else {
        return;
    };
    assert!(
        report.failed.is_empty(),
        "{} failed requests: {:?}",
        report.failed.len(),
        report.failed
    );
    assert!(
        report.during_roll >= 10,
        "only {} requests during the roll",
        report.during_roll
    );
    assert!(report.written > 0, "no write was acknowledged");
    assert_eq!(
        report.found, report.written,
        "every acknowledged write is in the database"
    );
}

/// The same roll without taking each host out of the load balancer first:
/// requests reach a stopping host, which is what the drain prevents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_roll_without_the_drain_fails_requests() {
    let Some(report) = rehearse(false).await else {
        return;
    };
    assert!(
        !report.failed.is_empty(),
        "no request failed although the LB kept sending to stopping hosts"
    );
}

/// A new binary that never becomes healthy: the first host goes back to
/// the binary it ran, rejoins the LB, and the roll stops before the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_fails_its_health_gate_goes_back_and_the_roll_stops() {
    let Some(hosts) = two_hosts_behind_haproxy().await else {
        return;
    };
    let dir = &hosts.dir;
    let broken = dir.join("broken");
    write_exec(&broken, "#!/bin/sh\necho 'refusing to start' >&2\nexit 1\n");
    let b_pid = std::fs::read_to_string(dir.join("b/pid")).unwrap();
    let hosts_file = dir.join("hosts");
    std::fs::write(&hosts_file, "api a\napi b\n").unwrap();
    let (rolled, output) = run_roll(
        dir,
        &broken,
        &hosts_file,
        true,
        "3",
        Duration::from_secs(60),
    )
    .await;
    assert!(
        !rolled,
        "the roll went on past a host that never became healthy:\n{output}"
    );
    assert!(output.contains("putting back"), "{output}");
    assert!(output.contains("stopping the roll"), "{output}");
    let image = |h: &str| std::fs::read_to_string(dir.join(h).join("image")).unwrap();
    assert_eq!(
        image("a").trim(),
        hosts.v1.display().to_string(),
        "a is back on v1"
    );
    assert_eq!(
        image("b").trim(),
        hosts.v1.display().to_string(),
        "b was not touched"
    );
    assert_eq!(std::fs::read_to_string(dir.join("b/pid")).unwrap(), b_pid);
    // a serves again, through the LB too (it rejoined).
    let stat = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf 'show stat\\n' | socat - UNIX-CONNECT:{}/admin.sock",
            dir.display()
        ))
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&stat.stdout);
    let a_status = stat
        .lines()
        .find(|l| l.starts_with("ciel,a,"))
        .and_then(|l| l.split(',').nth(17))
        .unwrap_or_default()
        .to_string();
    assert_eq!(a_status, "UP", "{stat}");
    let ready = hosts
        .client
        .get(format!("{}/ready", hosts.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    drop(hosts.rehearsal);
}
