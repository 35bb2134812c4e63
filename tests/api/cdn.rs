//! Variants through a CDN (issue 30): the URL the API renders with
//! `S3_PUBLIC_ENDPOINT`, fetched twice through a real HTTP cache in front of
//! the bucket, is a miss then a hit, kept because of the headers the worker
//! wrote and nothing else. The cache is Debian's nginx with `proxy_cache`
//! and no validity of its own (no `proxy_cache_valid`), so what it keeps and
//! for how long comes from the origin's `Cache-Control`, as on Edge
//! Services, where "the caching directive always takes precedence over any
//! lifetime setting" of the cache stage. The origin is the bucket as Edge
//! Services reads it: anonymously, `variants/` only (the `PublicVariants`
//! bucket policy of terraform/modules/storage); locally, a second s3s-fs
//! over the same directory without credentials, behind a location that
//! forwards `variants/` alone. What only Scaleway can confirm is in the
//! README ("Variants through the CDN").

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::media::{completed_photo, settled};
use crate::common::{Backing, TestApp, eventually, free_port, s3_endpoint, system_tool, unique};

/// A process of the test's, stopped when the test ends: with SIGTERM, on
/// which nginx's master stops its workers (a SIGKILLed master leaves them
/// running), then SIGKILL if it is still there after 5 s.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The directory the local S3 server keeps its buckets in: the last
/// argument of the s3s-fs that listens on the tests' endpoint.
fn s3_root() -> PathBuf {
    let port = s3_endpoint()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_ours = args.first().is_some_and(|a| a.ends_with("s3s-fs"))
            && args.windows(2).any(|w| w[0] == "--port" && w[1] == port);
        if let (true, Some(root)) = (is_ours, args.last()) {
            let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
            return cwd.join(root);
        }
    }
    panic!("no s3s-fs listening on port {port} (scripts/services.sh starts it)");
}

/// The bucket as Edge Services reads it: anonymously (s3s-fs without
/// credentials, over the local S3 server's directory).
fn anonymous_origin(s3s_fs: &Path, port: u16) -> Running {
    Running(
        Command::new(s3s_fs)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(s3_root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn nginx_config(dir: &Path, port: u16, origin: u16, bucket: &str) -> String {
    let dir = dir.display();
    format!(
        "worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=variants:1m max_size=64m inactive=7d use_temp_path=off;
    server {{
        listen 127.0.0.1:{port};
        location /variants/ {{
            limit_except GET {{ deny all; }}
            proxy_pass http://127.0.0.1:{origin}/{bucket}/variants/;
            proxy_cache variants;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
        location / {{ return 404; }}
    }}
}}
"
    )
}

async fn listening(port: u16) {
    eventually(Duration::from_secs(10), "a port to listen", || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await;
}

struct Fetched {
    status: StatusCode,
    cache: String,
    cache_control: String,
    content_type: String,
    body: Vec<u8>,
}

async fn fetch(client: &reqwest::Client, url: &str) -> Fetched {
    let reply = client.get(url).send().await.unwrap();
    let header = |name: &str| {
        reply
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    Fetched {
        status: reply.status(),
        cache: header("x-cache-status"),
        cache_control: header("cache-control"),
        content_type: header("content-type"),
        body: reply.bytes().await.unwrap().to_vec(),
    }
}

#[tokio::test]
async fn a_variant_through_the_cdn_is_a_miss_then_a_hit() {
    let (Some(nginx), Some(s3s_fs)) = (
        system_tool("nginx", "ensure_cdn_tools"),
        system_tool("s3s-fs", "ensure_s3"),
    ) else {
        return;
    };
    let backing = Backing::new().await;
    let dir = std::env::temp_dir().join(unique("ciel-cdn"));
    std::fs::create_dir_all(dir.join("cache")).unwrap();
    // nginx's workers run as nobody when the master is root.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("cache"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
    }
    let origin = free_port();
    let _origin = anonymous_origin(&s3s_fs, origin);
    let port = free_port();
    std::fs::write(
        dir.join("nginx.conf"),
        nginx_config(&dir, port, origin, &backing.bucket),
    )
    .unwrap();
    let _cdn = Running(
        Command::new(&nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let cdn = format!("http://127.0.0.1:{port}");
    listening(origin).await;
    listening(port).await;

    let mut env = backing.env("dev");
    env.insert("S3_PUBLIC_ENDPOINT", cdn.clone());
    // Nothing is purged here (tests/api/takedowns.rs covers it).
    env.insert("CDN_PIPELINE_ID", "pipeline".into());
    env.insert("CDN_PURGE_SECRET_KEY", "unused".into());
    env.insert("CDN_PURGE_API_URL", "http://127.0.0.1:9".into());
    let app = TestApp::spawn(&backing, env).await;
    let token = app.access_token(&unique("cdn")).await;
    let id = completed_photo(&app, &token).await;
    let media = settled(&app, &token, id).await;
    assert_eq!(media["status"], "ready", "{media}");
    let url = media["variants"][0]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{cdn}/variants/{id}/")), "{url}");

    let client = reqwest::Client::new();
    let stored = backing
        .storage()
        .get(url.strip_prefix(&format!("{cdn}/")).unwrap())
        .await
        .unwrap();

    let miss = fetch(&client, &url).await;
    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.cache, "MISS", "the first request goes to the bucket");
    assert_eq!(miss.cache_control, "public, max-age=31536000, immutable");
    assert_eq!(miss.content_type, "image/webp");
    assert_eq!(miss.body, stored);
    let hit = fetch(&client, &url).await;
    assert_eq!(hit.status, StatusCode::OK);
    assert_eq!(
        hit.cache, "HIT",
        "the second request is served by the cache"
    );
    assert_eq!(hit.cache_control, "public, max-age=31536000, immutable");
    assert_eq!(hit.content_type, "image/webp");
    assert_eq!(hit.body, stored);

    // The hit is the cache's doing, not the origin's: with the origin gone
    // the variant is still served.
    drop(_origin);
    let without_origin = fetch(&client, &url).await;
    assert_eq!(
        (without_origin.status, without_origin.cache.as_str()),
        (StatusCode::OK, "HIT")
    );
    assert_eq!(without_origin.body, stored);

    // And the cache keeps only what the origin allows: an object whose
    // Cache-Control forbids it is fetched again every time, so the hit above
    // comes from the worker's header, not from the cache's configuration.
    let _origin = anonymous_origin(&s3s_fs, origin);
    // An s3s-fs deletes the root's half-written uploads as it starts, and
    // the signed server writes into the same root: the PUT waits until the
    // origin listens, past its start, or it can lose its upload.
    listening(origin).await;
    let key = format!("variants/{}/control.webp", Uuid::new_v4());
    backing
        .storage()
        .put(&key, b"not kept".to_vec(), "image/webp", "no-cache")
        .await
        .unwrap();
    let control = format!("{cdn}/{key}");
    for _ in 0..2 {
        let again = fetch(&client, &control).await;
        assert_eq!(
            (again.status, again.cache.as_str()),
            (StatusCode::OK, "MISS")
        );
    }
    // Originals are not served through the CDN at all.
    let original = fetch(&client, &format!("{cdn}/originals/{id}")).await;
    assert_eq!(original.status, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&dir);
}
