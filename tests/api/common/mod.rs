//! Test harness: every test gets its own database, bucket, queue (with a
//! dead-letter queue) and Redis key prefix, on the real services that
//! `scripts/test` starts. Set TEST_LOG=1 to see the app's logs.

#![allow(dead_code)]

pub mod media;
pub mod postgres;
pub mod proxy;
pub mod push;
pub mod redis;
pub mod smtp;
pub mod social;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use ciel::app::Application;
use ciel::config::{AwsCredentials, Config, QueueConfig, S3Config, Secret};
use ciel::infra::queue::Queue;
use ciel::infra::s3::Storage;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgPool};
use tokio::sync::oneshot;
use uuid::Uuid;

pub const ACCESS_KEY: &str = "QUNDRVNTLUtFWS1BQ0NFU1MtS0VZLUFDQ0VTUy1LRVk=";
pub const REFRESH_KEY: &str = "UkVGUkVTSC1LRVktUkVGUkVTSC1LRVktUkVGUkVTSC0=";
pub const PASSWORD: &str = "correct horse battery";
/// What a `new` account may do in the tests that are not about trust.
pub const GENEROUS_TRUST_LIMITS: &str =
    "posts=100000,stories=100000,comments=100000,follows=100000,likes=100000,fanout=all";

pub fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

pub fn database_base() -> String {
    var(
        "CIEL_TEST_DATABASE_BASE",
        "postgres://postgres:postgres@127.0.0.1:5432",
    )
}
pub fn s3_endpoint() -> String {
    var("CIEL_TEST_S3_ENDPOINT", "http://127.0.0.1:9014")
}
pub fn sqs_endpoint() -> String {
    var("CIEL_TEST_SQS_ENDPOINT", "http://127.0.0.1:9324")
}
pub fn redis_url() -> String {
    var("CIEL_TEST_REDIS_URL", "redis://127.0.0.1:6379")
}
pub fn s3_access_key() -> String {
    var("CIEL_TEST_S3_ACCESS_KEY", "ciel-local")
}
pub fn s3_secret_key() -> String {
    var("CIEL_TEST_S3_SECRET_KEY", "ciel-local-secret")
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        ciel::telemetry::init_logs(ciel::config::LogFormat::Text);
    }
}

/// A database, bucket and queue that belong to one test.
#[derive(Clone)]
pub struct Backing {
    pub id: String,
    pub database_url: String,
    pub bucket: String,
    pub queue_name: String,
    pub dlq_name: String,
}

/// moto knows AWS regions only.
pub const SQS_REGION: &str = "us-east-1";

pub const MAX_RECEIVE_COUNT: u32 = 2;

impl Backing {
    pub async fn new() -> Self {
        init_logs();
        let id = Uuid::new_v4().simple().to_string()[..12].to_string();
        let database = format!("ciel_test_{id}");
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", database_base()))
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (run scripts/test)");
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let backing = Backing {
            database_url: format!("{}/{database}", database_base()),
            bucket: format!("ciel-test-{id}"),
            queue_name: format!("ciel-test-{id}"),
            dlq_name: format!("ciel-test-{id}-dlq"),
            id,
        };
        let pool = PgPool::connect(&backing.database_url)
            .await
            .expect("connect test database");
        ciel::infra::db::migrate(&pool).await.expect("migrate");
        pool.close().await;
        backing
            .storage()
            .ensure_bucket()
            .await
            .expect("S3 server (run scripts/test)");
        backing.create_queues().await;
        backing
    }

    pub fn s3_config(&self, endpoint: &str) -> S3Config {
        S3Config {
            endpoint: endpoint.to_string(),
            region: "fr-par".into(),
            bucket: self.bucket.clone(),
            public_endpoint: None,
            credentials: AwsCredentials {
                access_key_id: s3_access_key(),
                secret_access_key: Secret::new(s3_secret_key()),
            },
        }
    }

    pub fn storage(&self) -> Storage {
        Storage::new(&self.s3_config(&s3_endpoint()))
    }

    pub fn queue_config(&self, name: &str) -> QueueConfig {
        QueueConfig {
            endpoint: sqs_endpoint(),
            name: name.to_string(),
            region: SQS_REGION.into(),
            credentials: AwsCredentials {
                access_key_id: "test".into(),
                secret_access_key: Secret::new("test".into()),
            },
            dead_letter_name: None,
        }
    }

    pub fn queue(&self) -> Queue {
        Queue::new(&self.queue_config(&self.queue_name))
    }

    pub fn dead_letter_queue(&self) -> Queue {
        Queue::new(&self.queue_config(&self.dlq_name))
    }

    async fn create_queues(&self) {
        let client = sqs_client();
        let dlq = client
            .create_queue()
            .queue_name(&self.dlq_name)
            .send()
            .await
            .expect("SQS server (run scripts/test)");
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(dlq.queue_url.unwrap())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let redrive =
            json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT })
                .to_string();
        client
            .create_queue()
            .queue_name(&self.queue_name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                redrive,
            )
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "60",
            )
            .send()
            .await
            .unwrap();
    }

    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.database_url).await.unwrap()
    }

    /// The environment of a process of `mode` on this backing.
    pub fn env(&self, mode: &str) -> HashMap<&'static str, String> {
        let mut env: HashMap<&'static str, String> = [
            ("APP_MODE", mode.to_string()),
            ("HTTP_ADDR", "127.0.0.1:0".into()),
            ("DATABASE_URL", self.database_url.clone()),
            ("DATABASE_MAX_CONNECTIONS", "5".into()),
            ("S3_ENDPOINT", s3_endpoint()),
            ("S3_REGION", "fr-par".into()),
            ("S3_BUCKET", self.bucket.clone()),
            ("AWS_ACCESS_KEY_ID", s3_access_key()),
            ("AWS_SECRET_ACCESS_KEY", s3_secret_key()),
        ]
        .into_iter()
        .collect();
        if mode != "serverless-worker" {
            env.insert("QUEUE_ENDPOINT", sqs_endpoint());
            env.insert("QUEUE_NAME", self.queue_name.clone());
            env.insert("QUEUE_REGION", SQS_REGION.into());
            env.insert("QUEUE_ACCESS_KEY_ID", "test".into());
            env.insert("QUEUE_SECRET_ACCESS_KEY", "test".into());
        }
        if mode == "worker" || mode == "dev" {
            // A stopping worker finishes its receive: short polls keep
            // the tests that stop one quick.
            env.insert("WORKER_LONG_POLL_SECS", "2".into());
        }
        if mode == "api" || mode == "dev" {
            env.insert("REDIS_URL", redis_url());
            env.insert("PASETO_ACCESS_KEY", ACCESS_KEY.into());
            env.insert("PASETO_REFRESH_KEY", REFRESH_KEY.into());
            // Generous limits: the rate-limit tests set their own.
            env.insert("RATE_LIMIT_REGISTER", "1000/1m".into());
            env.insert("RATE_LIMIT_LOGIN", "1000/1m".into());
            env.insert("RATE_LIMIT_WRITES", "1000/1m".into());
            env.insert("RATE_LIMIT_REFRESH", "1000/1m".into());
            env.insert("RATE_LIMIT_REFRESH_SESSION", "1000/1m".into());
            env.insert("RATE_LIMIT_LOGIN_ACCOUNT", "1000/1h".into());
            env.insert("RATE_LIMIT_FORGOT", "1000/1m".into());
            env.insert("RATE_LIMIT_FORGOT_ADDRESS", "1000/1m".into());
            env.insert("RATE_LIMIT_ACCOUNT_TOKEN", "1000/1m".into());
            env.insert("RATE_LIMIT_ACCOUNT_MAIL", "1000/1m".into());
            // A test's fresh accounts are `new`: the trust tests set their
            // own limits.
            env.insert("TRUST_LIMITS_NEW", GENEROUS_TRUST_LIMITS.into());
        }
        env
    }
}

pub fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(SQS_REGION))
        .endpoint_url(sqs_endpoint())
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub backing: Backing,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backing: &Backing, env: HashMap<&'static str, String>) -> TestApp {
        let mut config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        config.redis_key_prefix = format!("ciel-test-{}", backing.id);
        let app = Application::build(config).await.expect("build app");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            client: reqwest::Client::new(),
            backing: backing.clone(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// An API process on a fresh backing.
    pub async fn api() -> TestApp {
        let backing = Backing::new().await;
        Self::spawn(&backing, backing.env("api")).await
    }

    pub async fn api_with(tweak: impl FnOnce(&mut HashMap<&'static str, String>)) -> TestApp {
        let backing = Backing::new().await;
        let mut env = backing.env("api");
        tweak(&mut env);
        Self::spawn(&backing, env).await
    }

    /// Stops the server, waiting for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("app task").expect("app stopped cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.expect("request sent")).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::DELETE, path, token, None).await
    }

    /// Asks to register a user, whatever the answer.
    pub async fn try_register(&self, handle: &str) -> Reply {
        self.post(
            "/v1/auth/register",
            None,
            json!({ "handle": handle, "email": format!("{handle}@example.org"), "password": PASSWORD }),
        )
        .await
    }

    /// Registers a user and returns the 201 body.
    pub async fn register(&self, handle: &str) -> Value {
        let reply = self.try_register(handle).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    /// The Prometheus text of `/metrics` (no admin token set).
    pub async fn metrics(&self) -> String {
        let reply = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        reply.text().await.unwrap()
    }

    /// Registers a user and returns its access token.
    pub async fn access_token(&self, handle: &str) -> String {
        self.register(handle).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and, for errors, the machine-readable code.
    pub fn expect(&self, status: StatusCode, code: Option<&str>) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        if let Some(code) = code {
            assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
            assert!(
                self.body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "errors carry a message: {}",
                self.body
            );
        }
        self
    }
}

/// `Queue::receive` for the media tests: every sign-up queues an account
/// mail job on the same queue, which these tests acknowledge and leave out.
#[allow(async_fn_in_trait)]
pub trait MediaJobs {
    async fn receive_media(
        &self,
        max: i32,
        wait: Duration,
        visibility: Duration,
    ) -> anyhow::Result<Vec<ciel::infra::queue::Received>>;
}

impl MediaJobs for Queue {
    async fn receive_media(
        &self,
        max: i32,
        wait: Duration,
        visibility: Duration,
    ) -> anyhow::Result<Vec<ciel::infra::queue::Received>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let messages = self.receive(max, left, visibility).await?;
            let (mail, media): (Vec<_>, Vec<_>) = messages
                .into_iter()
                .partition(|m| m.body.contains(r#""type":"send_mail""#));
            for message in &mail {
                self.delete(&message.receipt_handle).await?;
            }
            if !media.is_empty() || mail.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(media);
            }
        }
    }
}

/// Polls `check` until it returns `Some`, failing after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A program from PATH (or /usr/sbin, where Debian puts daemons), or None
/// with a note that the test is skipped; in CI a missing tool fails.
/// `installed_by`: the scripts/services.sh function that installs it.
pub fn system_tool(name: &str, installed_by: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([std::path::PathBuf::from("/usr/sbin")])
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is missing (scripts/services.sh {installed_by} installs it)"
        );
        eprintln!("skipped: {name} is missing (scripts/services.sh {installed_by} installs it)");
    }
    found
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..8])
}

/// Waits until some session of this test's database waits on a lock: the
/// deterministic way to know a request is in flight inside the server.
pub async fn until_a_query_waits_on_a_lock(pool: &PgPool) {
    until_queries_wait_on_locks(pool, 1).await;
}

/// Waits until at least `sessions` sessions of this test's database wait on
/// locks.
pub async fn until_queries_wait_on_locks(pool: &PgPool, sessions: i64) {
    eventually(
        Duration::from_secs(60),
        "queries to wait on locks",
        || async { (queries_waiting_on_locks(pool).await >= sessions).then_some(()) },
    )
    .await;
}

/// How many sessions of this test's database wait on a lock now.
pub async fn queries_waiting_on_locks(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Uploads and completes `bytes`, then takes the job's message off the queue
/// (as a trigger would) and returns its body, unprocessed.
pub async fn queued_upload(
    backing: &Backing,
    api: &TestApp,
    token: &str,
    bytes: &[u8],
) -> (Uuid, String) {
    let id = media::upload(api, token, bytes, "image/jpeg", bytes.len()).await;
    api.post(&format!("/v1/media/{id}/complete"), Some(token), json!({}))
        .await
        .expect(StatusCode::ACCEPTED, None);
    let queue = backing.queue();
    let messages = queue
        .receive_media(1, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    queue.delete(&messages[0].receipt_handle).await.unwrap();
    (id, messages[0].body.clone())
}

/// The media's status and error code, straight from the database.
pub async fn media_state(backing: &Backing, id: Uuid) -> (String, Option<String>) {
    let pool = backing.pool().await;
    let state = sqlx::query_as("SELECT status::text, error_code FROM media WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    state
}
