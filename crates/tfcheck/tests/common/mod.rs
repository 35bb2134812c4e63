//! Shared helpers: the seed's tables and broken copies of terraform/.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use hcl::Value;

/// Fails with every problem listed when the check found any.
pub fn assert_clean(check: &str, errs: &[String]) {
    assert!(
        errs.is_empty(),
        "{check} failed on terraform/:\n  {}",
        errs.join("\n  ")
    );
}

/// Fails unless some problem mentions every one of `needles`.
pub fn assert_caught(check: &str, errs: &[String], needles: &[&str]) {
    assert!(
        errs.iter().any(|e| needles.iter().all(|n| e.contains(n))),
        "{check} did not report a problem mentioning {needles:?}; it reported:\n  {}",
        errs.join("\n  ")
    );
}

/// A copy of terraform/ in a temp dir, removed on drop.
pub struct BrokenTree {
    pub root: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl BrokenTree {
    pub fn new() -> BrokenTree {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = std::env::temp_dir().join(format!("tfcheck-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let root = base.join("terraform");
        copy_dir(&tfcheck::terraform_root(), &root);
        BrokenTree { root }
    }

    /// Replaces the first occurrence of `from` with `to` in `file` (relative
    /// to terraform/); panics when `from` is absent, so a test can't pass
    /// because its mutation silently stopped applying.
    pub fn replace(&self, file: &str, from: &str, to: &str) -> &Self {
        let path = self.root.join(file);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains(from), "{file} no longer contains {from:?}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
        self
    }

    /// Appends text to a file (creating it if needed).
    pub fn append(&self, file: &str, text: &str) -> &Self {
        let path = self.root.join(file);
        let mut old = fs::read_to_string(&path).unwrap_or_default();
        old.push_str(text);
        fs::write(&path, old).unwrap();
        self
    }
}

impl Drop for BrokenTree {
    fn drop(&mut self) {
        if let Some(base) = self.root.parent() {
            let _ = fs::remove_dir_all(base);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".terraform") {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

pub fn s(v: &str) -> Value {
    Value::from(v)
}

pub fn n(v: i64) -> Value {
    Value::from(v)
}

pub fn b(v: bool) -> Value {
    Value::from(v)
}

/// The seed's "Dev Environment Configuration" table, row for row
/// (infrastructure-plan.md: Module | Setting | Value).
pub fn seed_dev_table() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("networking", "enable_load_balancer", b(false)),
        ("networking", "enable_bastion", b(true)),
        ("networking", "enable_public_gateway", b(true)),
        ("database", "db_node_type", s("DB-DEV-S")),
        ("database", "enable_ha", b(false)),
        ("cache", "enabled", b(false)), // Redis runs on combined instance
        ("compute", "enable_combined_mode", b(true)),
        ("compute", "combined_instance_type", s("DEV1-M")),
        ("compute", "api_instance_count", n(0)),
        ("compute", "worker_instance_count", n(0)),
        ("compute", "enable_serverless_worker", b(true)),
        ("compute", "serverless_worker_min_scale", n(0)), // scale to zero
        ("compute", "serverless_worker_max_scale", n(3)),
        ("storage", "enable_cdn", b(false)),
        ("observability", "enable_alerts", b(false)),
    ]
}

/// The seed's "Environment Variables Mapping" table: (variable, used by).
pub const SEED_ENV_MAPPING: &[(&str, &str)] = &[
    ("APP_MODE", "Both"),
    ("DATABASE_URL", "Both"),
    ("REDIS_URL", "API only"),
    ("S3_ENDPOINT", "Both"),
    ("S3_REGION", "Both"),
    ("S3_BUCKET", "Both"),
    ("S3_PUBLIC_ENDPOINT", "API only"),
    ("QUEUE_ENDPOINT", "API only"),
    ("QUEUE_NAME", "API only"),
    ("AWS_ACCESS_KEY_ID", "Both"),
    ("AWS_SECRET_ACCESS_KEY", "Both"),
    ("PASETO_ACCESS_KEY", "API only"),
    ("PASETO_REFRESH_KEY", "API only"),
    ("HTTP_ADDR", "Both"),
    ("RUST_LOG", "Both"),
];

/// Variables the app read after the seed, and who gets them (same words as
/// the seed's table; "Both" here means the API, the worker instances and the
/// serverless container; "API with CDN": the API's, only with `enable_cdn`,
/// since with S3_PUBLIC_ENDPOINT it refuses to start without them).
pub const LATER_ENV_MAPPING: &[(&str, &str)] = &[
    // The moderation credential (issue 25, finding 12): no worker, no scraper.
    ("ADMIN_TOKEN", "API only"),
    // GET /metrics in every mode, and what every scraper presents.
    ("METRICS_TOKEN", "Both"),
    // Purging deleted and withheld variants from the CDN (finding 2).
    ("CDN_PIPELINE_ID", "API with CDN"),
    ("CDN_PURGE_SECRET_KEY", "API with CDN"),
    // Invite-only sign-up (issue 26): the API decides who may sign up.
    ("SIGNUP_MODE", "API only"),
];

/// Rows the API's env must hold: every "API only" or "Both" row.
pub fn api_rows() -> Vec<&'static str> {
    SEED_ENV_MAPPING
        .iter()
        .filter(|(_, used_by)| *used_by == "API only" || *used_by == "Both")
        .map(|(name, _)| *name)
        .collect()
}

/// What the serverless worker needs as secret environment variables (DB + S3).
pub const SERVERLESS_SECRETS: &[&str] = &[
    "DATABASE_URL",
    "S3_ENDPOINT",
    "S3_REGION",
    "S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "METRICS_TOKEN",
];

/// The seed's scaling scenarios 1-9: file name and exact variable changes.
pub fn seed_scenarios() -> Vec<(&'static str, Vec<(&'static str, Value)>)> {
    vec![
        (
            "01-upgrade-combined-instance.tfvars",
            vec![
                ("combined_instance_type", s("DEV1-L")),
                ("embedded_redis_maxmemory_mb", n(1024)),
            ],
        ),
        (
            "02-split-api-redis.tfvars",
            vec![
                ("enable_combined_mode", b(false)),
                ("api_instance_count", n(1)),
                ("api_instance_type", s("DEV1-S")),
                ("enabled", b(true)),
                ("use_managed_redis", b(false)),
                ("redis_instance_type", s("DEV1-S")),
            ],
        ),
        (
            "03-load-balancer-multi-api.tfvars",
            vec![
                ("enable_load_balancer", b(true)),
                // The seed's "LB-GP-S" is not a type Scaleway provisions; its
                // +€12/mo is LB-S's price (terraform/README.md).
                ("lb_type", s("LB-S")),
                ("enable_combined_mode", b(false)),
                ("api_instance_count", n(2)),
                ("api_instance_type", s("DEV1-M")),
                ("enabled", b(true)),
                ("use_managed_redis", b(false)),
            ],
        ),
        (
            "04-managed-redis.tfvars",
            vec![
                ("enabled", b(true)),
                ("use_managed_redis", b(true)),
                ("managed_redis_node_type", s("RED1-micro")),
            ],
        ),
        (
            "05-upgrade-database.tfvars",
            vec![
                ("db_node_type", s("DB-PRO2-XXS")),
                ("enable_ha", b(true)),
                ("volume_size_in_gb", n(20)),
                ("read_replica_count", n(1)),
            ],
        ),
        (
            "06-scale-serverless-worker.tfvars",
            vec![
                ("serverless_worker_cpu", n(2000)),
                ("serverless_worker_memory", n(1024)),
                ("serverless_worker_max_scale", n(10)),
            ],
        ),
        (
            "07-enable-cdn.tfvars",
            vec![
                ("enable_cdn", b(true)),
                (
                    "cors_allowed_origins",
                    Value::Array(vec![s("https://yourdomain.com")]),
                ),
                ("enable_cdn_dns", b(true)),
                ("cdn_subdomain", s("media")),
            ],
        ),
        (
            "08-production-ready.tfvars",
            vec![
                ("enable_load_balancer", b(true)),
                ("enable_bastion", b(false)),
                ("enable_combined_mode", b(false)),
                ("api_instance_count", n(2)),
                ("api_instance_type", s("DEV1-M")),
                ("enable_serverless_worker", b(true)),
                ("serverless_worker_max_scale", n(10)),
                ("db_node_type", s("DB-PRO2-XXS")),
                ("enable_ha", b(true)),
                ("volume_size_in_gb", n(20)),
                ("enabled", b(true)),
                ("use_managed_redis", b(true)),
                ("managed_redis_node_type", s("RED1-micro")),
                ("enable_cdn", b(true)),
                ("enable_alerts", b(true)),
            ],
        ),
        // The seed's scenario 9 is prose ("API + Redis into K8s pods on
        // GP1-S or DEV1-L nodes", database, storage, messaging, secrets and
        // the serverless worker unchanged); issue 12 made it this file.
        (
            "09-kubernetes.tfvars",
            vec![
                ("enable_kubernetes", b(true)),
                ("kubernetes_node_type", s("DEV1-L")),
                ("kubernetes_min_nodes", n(2)),
                ("kubernetes_max_nodes", n(4)),
                ("enable_combined_mode", b(false)),
                ("api_instance_count", n(0)),
            ],
        ),
    ]
}
