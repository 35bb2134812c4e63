use std::collections::HashMap;

use super::*;

const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const KEY_B: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

fn base() -> HashMap<&'static str, String> {
    [
        ("DATABASE_URL", "postgres://localhost/ciel"),
        ("S3_ENDPOINT", "http://127.0.0.1:9000"),
        ("S3_REGION", "fr-par"),
        ("S3_BUCKET", "media"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "very-secret-value"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

fn api_env() -> HashMap<&'static str, String> {
    let mut env = base();
    env.insert("APP_MODE", "api".into());
    env.insert("REDIS_URL", "redis://127.0.0.1:6379".into());
    env.insert("QUEUE_ENDPOINT", "http://127.0.0.1:9324".into());
    env.insert("QUEUE_NAME", "jobs".into());
    env.insert("PASETO_ACCESS_KEY", KEY_A.into());
    env.insert("PASETO_REFRESH_KEY", KEY_B.into());
    env
}

fn load(env: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
    Config::from_lookup(|k| env.get(k).cloned())
}

#[test]
fn serverless_worker_needs_only_database_and_s3() {
    let mut env = base();
    env.insert("APP_MODE", "serverless-worker".into());
    let config = load(&env).expect("serverless worker config");
    assert!(config.api.is_none());
    assert!(config.queue.is_none());
}

#[test]
fn api_mode_names_the_first_missing_variable() {
    let mut env = api_env();
    env.remove("PASETO_REFRESH_KEY");
    let err = load(&env).unwrap_err();
    assert_eq!(err.var, "PASETO_REFRESH_KEY");
    assert_eq!(
        err.to_string(),
        "configuration error: PASETO_REFRESH_KEY is missing"
    );
}

#[test]
fn paseto_keys_must_be_32_bytes_of_base64() {
    for (bad, expected) in [
        ("not base64!!", "expected base64 of exactly 32 bytes"),
        ("AAAA", "decodes to 3 bytes, expected exactly 32"),
    ] {
        let mut env = api_env();
        env.insert("PASETO_ACCESS_KEY", bad.into());
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, "PASETO_ACCESS_KEY");
        assert!(err.problem.contains(expected), "{}", err.problem);
        assert!(!err.to_string().contains(bad) || bad == "AAAA");
    }
}

#[test]
fn identical_access_and_refresh_keys_are_refused() {
    let mut env = api_env();
    env.insert("PASETO_REFRESH_KEY", KEY_A.into());
    assert_eq!(load(&env).unwrap_err().var, "PASETO_REFRESH_KEY");
}

#[test]
fn listens_on_port_when_http_addr_is_unset() {
    let mut env = api_env();
    assert_eq!(
        load(&env).unwrap().http_addr,
        "0.0.0.0:8080".parse().unwrap()
    );
    env.insert("PORT", "9999".into());
    assert_eq!(
        load(&env).unwrap().http_addr,
        "0.0.0.0:9999".parse().unwrap()
    );
    env.insert("HTTP_ADDR", "127.0.0.1:7000".into());
    assert_eq!(
        load(&env).unwrap().http_addr,
        "127.0.0.1:7000".parse().unwrap()
    );
    env.insert("HTTP_ADDR", "nonsense".into());
    assert_eq!(load(&env).unwrap_err().var, "HTTP_ADDR");
}

#[test]
fn unknown_mode_is_refused() {
    let mut env = api_env();
    env.insert("APP_MODE", "apii".into());
    let err = load(&env).unwrap_err();
    assert_eq!(err.var, "APP_MODE");
    assert!(err.problem.contains("api, serverless-worker, worker, dev"));
}

#[test]
fn debug_output_redacts_secrets() {
    let config = load(&api_env()).unwrap();
    let dump = format!("{config:?}");
    assert!(!dump.contains("very-secret-value"));
    assert!(!dump.contains("postgres://localhost/ciel"));
    assert!(dump.contains("Secret(***)"));
}

#[test]
fn trusted_proxies_accept_addresses_and_cidrs() {
    let mut env = api_env();
    env.insert("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1".into());
    let config = load(&env).unwrap();
    assert_eq!(config.api.unwrap().rate_limits.trusted_proxies.len(), 2);
    env.insert("TRUSTED_PROXIES", "10.0.0.0/33".into());
    assert_eq!(load(&env).unwrap_err().var, "TRUSTED_PROXIES");
}

#[test]
fn redis_ca_cert_must_be_a_readable_pem_file_for_a_tls_url() {
    let not_pem = std::env::temp_dir().join(format!("ciel-not-pem-{}", std::process::id()));
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let not_pem = not_pem.to_str().unwrap().to_string();
    let mut env = api_env();
    for (url, path, expected) in [
        (
            "redis://127.0.0.1:6379",
            not_pem.as_str(),
            "REDIS_URL is not a rediss:// URL",
        ),
        (
            "rediss://127.0.0.1:6379",
            "/nonexistent/ca.pem",
            "cannot be read",
        ),
        (
            "rediss://127.0.0.1:6379",
            not_pem.as_str(),
            "holds no PEM certificate",
        ),
    ] {
        env.insert("REDIS_URL", url.into());
        env.insert("REDIS_CA_CERT", path.into());
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, "REDIS_CA_CERT");
        assert!(err.problem.contains(expected), "{}", err.problem);
    }
    std::fs::remove_file(not_pem).unwrap();
}

#[test]
fn the_dev_process_handles_its_own_dead_letters_and_workers_when_told() {
    let mut env = api_env();
    env.insert("APP_MODE", "dev".into());
    let dev = load(&env).unwrap().queue.unwrap();
    assert_eq!(dev.dead_letter_name.as_deref(), Some("jobs-dlq"));
    env.insert("APP_MODE", "worker".into());
    assert_eq!(load(&env).unwrap().queue.unwrap().dead_letter_name, None);
    env.insert("QUEUE_DEAD_LETTER_NAME", "jobs-dead".into());
    let worker = load(&env).unwrap().queue.unwrap();
    assert_eq!(worker.dead_letter_name.as_deref(), Some("jobs-dead"));
    env.insert("WORKER_DEAD_LETTER_PATH", "/".into());
    assert_eq!(load(&env).unwrap_err().var, "WORKER_DEAD_LETTER_PATH");
}

#[test]
fn job_time_limits_take_fractions_and_must_fit_the_request_timeout() {
    let mut env = base();
    env.insert("APP_MODE", "serverless-worker".into());
    env.insert("WORKER_JOB_TIME_LIMIT_SECS", "0.5".into());
    let worker = load(&env).unwrap().worker;
    assert_eq!(worker.job_time_limit, Duration::from_millis(500));
    assert_eq!(worker.request_timeout, Duration::from_secs(300));
    env.insert("WORKER_JOB_TIME_LIMIT_SECS", "0".into());
    assert_eq!(load(&env).unwrap_err().var, "WORKER_JOB_TIME_LIMIT_SECS");
    env.insert("WORKER_JOB_TIME_LIMIT_SECS", "290".into());
    assert_eq!(load(&env).unwrap_err().var, "WORKER_REQUEST_TIMEOUT_SECS");
}

#[test]
fn originals_go_to_glacier_unless_told_otherwise() {
    let mut env = base();
    env.insert("APP_MODE", "serverless-worker".into());
    assert_eq!(
        load(&env).unwrap().worker.originals_class,
        super::StorageClass::Glacier
    );
    env.insert("WORKER_ORIGINALS_CLASS", "ONEZONE_IA".into());
    assert_eq!(
        load(&env).unwrap().worker.originals_class,
        super::StorageClass::OnezoneIa
    );
    env.insert("WORKER_ORIGINALS_CLASS", "glacier".into());
    assert_eq!(load(&env).unwrap_err().var, "WORKER_ORIGINALS_CLASS");
}

#[test]
fn the_trigger_bridge_needs_a_queue_and_a_plain_http_target() {
    let env: HashMap<&'static str, String> = [
        ("QUEUE_ENDPOINT", "http://127.0.0.1:9324"),
        ("QUEUE_NAME", "jobs-dlq"),
        ("QUEUE_ACCESS_KEY_ID", "AKID"),
        ("QUEUE_SECRET_ACCESS_KEY", "secret"),
        ("TRIGGER_URL", "http://worker:8080/dead-letters"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    let load = |env: &HashMap<&'static str, String>| {
        Config::trigger_bridge_from_lookup(|k| env.get(k).cloned())
    };
    let config = load(&env).expect("bridge config without database or S3");
    assert_eq!(config.target, "http://worker:8080/dead-letters");
    assert_eq!(config.queue.name, "jobs-dlq");
    assert_eq!(config.retry_delay, Duration::from_secs(1));
    assert_eq!(config.on_give_up, OnGiveUp::Leave);
    for (var, bad, expected) in [
        ("TRIGGER_URL", "https://worker/", "expected an http:// URL"),
        ("TRIGGER_URL", "", "is missing"),
        ("TRIGGER_RETRY_DELAY_MS", "0", "at least 1"),
        ("TRIGGER_ON_GIVE_UP", "drop", "expected leave or delete"),
        ("QUEUE_NAME", "", "is missing"),
    ] {
        let mut env = env.clone();
        env.insert(var, bad.into());
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, var);
        assert!(err.problem.contains(expected), "{}", err.problem);
    }
}

#[test]
fn mail_settings_are_optional_and_checked_together() {
    let mut env = base();
    env.insert("APP_MODE", "serverless-worker".into());
    let mail = load(&env).unwrap().mail.unwrap();
    assert!(mail.smtp_url.is_none() && !mail.log_without_smtp);
    assert!(load(&api_env()).unwrap().mail.is_none());
    env.insert(
        "SMTP_URL",
        "smtps://user:hunter2-secret@smtp.tem.scaleway.com:465".into(),
    );
    let err = load(&env).unwrap_err();
    assert_eq!(err.var, "MAIL_FROM");
    env.insert("MAIL_FROM", "Ciel <no-reply@mail.example.org>".into());
    assert_eq!(load(&env).unwrap_err().var, "APP_LINK_BASE_URL");
    env.insert("APP_LINK_BASE_URL", "https://links.example.org/a/".into());
    let config = load(&env).unwrap();
    let mail = config.mail.unwrap();
    assert_eq!(mail.link_base_url, "https://links.example.org/a");
    assert!(!format!("{mail:?}").contains("hunter2-secret"));
    for (var, bad) in [
        ("SMTP_URL", "http://smtp.example.org"),
        ("MAIL_FROM", "not an address"),
        ("APP_LINK_BASE_URL", "links.example.org"),
        ("APP_LINK_BASE_URL", "https://links.example.org/?x=1"),
    ] {
        let mut env = env.clone();
        env.insert(var, bad.into());
        let err = load(&env).unwrap_err();
        assert_eq!(err.var, var);
        assert!(!err.to_string().contains("hunter2-secret"));
    }
}

#[test]
fn the_bounce_endpoint_needs_a_readable_trust_chain() {
    let mut env = api_env();
    assert!(load(&env).unwrap().api.unwrap().mail_events.is_none());
    env.insert("SNS_TOPIC_ARN", "arn:scw:sns:fr-par:project:topic".into());
    assert_eq!(load(&env).unwrap_err().var, "SNS_TRUST_CHAIN");
    env.insert("SNS_TRUST_CHAIN", "/nonexistent/chain.pem".into());
    let err = load(&env).unwrap_err();
    assert_eq!(err.var, "SNS_TRUST_CHAIN");
    assert!(err.problem.contains("cannot be read"), "{}", err.problem);
}

#[test]
fn rate_limit_policies_are_parsed() {
    let mut env = api_env();
    env.insert("RATE_LIMIT_LOGIN", "3/10s".into());
    let login = load(&env).unwrap().api.unwrap().rate_limits.login;
    assert_eq!((login.quota, login.window), (3, Duration::from_secs(10)));
    env.insert("RATE_LIMIT_LOGIN", "three per minute".into());
    assert_eq!(load(&env).unwrap_err().var, "RATE_LIMIT_LOGIN");
}

#[test]
fn trust_settings_override_one_number_at_a_time() {
    let mut env = api_env();
    env.insert("TRUST_LIMITS_NEW", " posts=1, fanout=all ,invites=0".into());
    env.insert("TRUST_TO_BASIC", "age=12h,engagers=5".into());
    env.insert("TRUST_STRIKES", "suspend_at=2,suspension=90".into());
    let trust = load(&env).unwrap().api.unwrap().trust;
    let defaults = TrustConfig::default();
    assert_eq!((trust.new.posts, trust.new.fanout), (1, u32::MAX));
    assert_eq!(trust.new.follows, defaults.new.follows, "the rest is kept");
    assert_eq!(trust.basic, defaults.basic);
    assert_eq!(trust.to_basic.age, Duration::from_secs(12 * 3600));
    assert_eq!(
        (trust.to_basic.posts, trust.to_basic.engagers),
        (defaults.to_basic.posts, 5)
    );
    assert_eq!(trust.strikes.suspension, Duration::from_secs(90));
    assert_eq!(trust.strikes.longest, defaults.strikes.longest);
    for (var, bad) in [
        ("TRUST_LIMITS_BASIC", "posts=many"),
        ("TRUST_LIMITS_BASIC", "reposts=3"),
        ("TRUST_LIMITS_BASIC", "posts"),
        ("TRUST_TO_TRUSTED", "age=3w"),
        ("TRUST_STRIKES", "suspension=2d,longest=1d"),
        ("TRUST_KEEP_PERCENT", "150"),
    ] {
        let mut env = api_env();
        env.insert(var, bad.into());
        assert_eq!(load(&env).unwrap_err().var, var, "{bad}");
    }
}

/// Every entry point's reads, over environments that reach every branch.
fn variables_read() -> std::collections::BTreeSet<String> {
    use std::cell::RefCell;
    let read = RefCell::new(std::collections::BTreeSet::new());
    let mut full = api_env();
    for (var, value) in [
        ("SMTP_URL", "smtp://mail.example.org:587"),
        ("MAIL_FROM", "Ciel <no-reply@example.org>"),
        ("APP_LINK_BASE_URL", "https://example.org/app"),
        ("QUEUE_ACCESS_KEY_ID", "queue-key"),
        ("QUEUE_SECRET_ACCESS_KEY", "queue-secret"),
        ("SNS_TOPIC_ARN", "arn:scw:sns:fr-par:project:topic"),
        ("TRIGGER_URL", "http://127.0.0.1:8081/"),
        ("HTTP_ADDR", "127.0.0.1:8080"),
        ("S3_PUBLIC_ENDPOINT", "https://media.example.org"),
        ("CDN_PIPELINE_ID", "pipeline"),
        ("CDN_PURGE_SECRET_KEY", "purge-secret"),
    ] {
        full.insert(var, value.into());
    }
    full.extend(push_env());
    // Read, not parsed, at start-up: any readable file will do.
    let chain = std::env::temp_dir().join(format!("ciel-chain-{}.pem", std::process::id()));
    std::fs::write(&chain, "not parsed here").unwrap();
    full.insert("SNS_TRUST_CHAIN", chain.display().to_string());
    let lookup = |var: &str| {
        read.borrow_mut().insert(var.to_string());
        full.get(var).cloned()
    };
    for mode in ["api", "dev", "worker", "serverless-worker"] {
        let with_mode = |var: &str| {
            if var == "APP_MODE" {
                read.borrow_mut().insert(var.to_string());
                return Some(mode.to_string());
            }
            lookup(var)
        };
        let _ = Config::from_lookup(with_mode);
    }
    let _ = Config::trigger_bridge_from_lookup(lookup);
    let _ = Config::advise_from_lookup(lookup);
    let without_addr = |var: &str| {
        read.borrow_mut().insert(var.to_string());
        (var != "HTTP_ADDR")
            .then(|| full.get(var).cloned())
            .flatten()
    };
    let _ = Config::http_addr_from_lookup(without_addr);
    let _ = std::fs::remove_file(&chain);
    read.into_inner()
}

#[test]
fn the_table_of_variables_is_exactly_what_configuration_reads() {
    let read = variables_read();
    let listed: std::collections::BTreeSet<String> =
        VARIABLES.iter().map(|v| v.name.to_string()).collect();
    // RUST_LOG is read by the log filter, at start-up, not here.
    let unread: Vec<&String> = listed
        .difference(&read)
        .filter(|v| *v != "RUST_LOG")
        .collect();
    assert!(unread.is_empty(), "listed but never read: {unread:?}");
    // Env::get asserts the other direction on every read.
    assert!(read.is_subset(&listed));
    let help = variables_help();
    for v in VARIABLES {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(v.name)),
            "{} missing from ciel --help",
            v.name
        );
    }
}

#[test]
fn a_public_endpoint_needs_the_cdn_purge_settings() {
    let mut env = api_env();
    env.insert("S3_PUBLIC_ENDPOINT", "https://media.example.org".into());
    assert_eq!(load(&env).unwrap_err().var, "CDN_PIPELINE_ID");
    env.insert("CDN_PIPELINE_ID", "pipeline".into());
    assert_eq!(load(&env).unwrap_err().var, "CDN_PURGE_SECRET_KEY");
    env.insert("CDN_PURGE_SECRET_KEY", "secret".into());
    env.insert("CDN_PURGE_API_URL", "api.scaleway.com".into());
    assert_eq!(load(&env).unwrap_err().var, "CDN_PURGE_API_URL");
    env.remove("CDN_PURGE_API_URL");
    let purge = load(&env).unwrap().api.unwrap().cdn_purge.unwrap();
    assert_eq!(purge.api_url, DEFAULT_CDN_PURGE_API_URL);
    assert!(!format!("{purge:?}").contains("secret\""), "{purge:?}");

    env.remove("S3_PUBLIC_ENDPOINT");
    assert!(load(&env).unwrap().api.unwrap().cdn_purge.is_none());
}

fn pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
}

/// Valid credentials of both providers, every override set.
fn push_env() -> HashMap<&'static str, String> {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
    let ec = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa = AsDer::<Pkcs8V1Der>::as_der(&rsa).unwrap();
    let account = serde_json::json!({
        "type": "service_account",
        "project_id": "ciel",
        "client_email": "push@ciel.iam.gserviceaccount.com",
        "private_key": pem(rsa.as_ref()),
    });
    [
        ("PUSH_APNS_KEY", pem(ec.as_ref()).replace('\n', "\\n")),
        ("PUSH_APNS_KEY_ID", "ABCDE12345".into()),
        ("PUSH_APNS_TEAM_ID", "TEAM123456".into()),
        ("PUSH_APNS_TOPIC", "org.example.ciel".into()),
        ("PUSH_APNS_PRODUCTION_URL", "http://127.0.0.1:9001".into()),
        ("PUSH_APNS_SANDBOX_URL", "http://127.0.0.1:9002".into()),
        ("PUSH_FCM_SERVICE_ACCOUNT", account.to_string()),
        ("PUSH_FCM_URL", "http://127.0.0.1:9003".into()),
        ("PUSH_FCM_TOKEN_URL", "http://127.0.0.1:9003/token".into()),
    ]
    .into_iter()
    .collect()
}

#[test]
fn push_credentials_are_optional_and_each_bad_value_is_named() {
    let mut env = base();
    env.insert("APP_MODE", "serverless-worker".into());
    let push = load(&env).unwrap().push.unwrap();
    assert!(push.apns.is_none() && push.fcm.is_none());
    env.extend(push_env());
    let push = load(&env).unwrap().push.unwrap();
    let apns = push.apns.unwrap();
    assert_eq!(apns.topic, "org.example.ciel");
    assert_eq!(apns.sandbox_url, "http://127.0.0.1:9002");
    let fcm = push.fcm.unwrap();
    assert_eq!(fcm.project_id, "ciel");
    assert_eq!(fcm.token_url, "http://127.0.0.1:9003/token");
    assert!(
        !format!("{fcm:?}").contains("PRIVATE"),
        "the key is redacted"
    );
    // The API does not read them.
    env.insert("APP_MODE", "api".into());
    env.extend(api_env());
    assert!(load(&env).unwrap().push.is_none());
    env.insert("APP_MODE", "worker".into());
    let rsa_key = serde_json::from_str::<serde_json::Value>(&env["PUSH_FCM_SERVICE_ACCOUNT"])
        .unwrap()["private_key"]
        .as_str()
        .unwrap()
        .to_string();
    let ec_account = serde_json::json!({
        "project_id": "ciel", "client_email": "a@b", "private_key": env["PUSH_APNS_KEY"].replace("\\n", "\n"),
    })
    .to_string();
    for (var, value, named) in [
        ("PUSH_APNS_KEY", "not a key".to_string(), "PUSH_APNS_KEY"),
        ("PUSH_APNS_KEY", rsa_key, "PUSH_APNS_KEY"),
        ("PUSH_APNS_KEY_ID", "short".into(), "PUSH_APNS_KEY_ID"),
        (
            "PUSH_APNS_TEAM_ID",
            "TEAM-12345".into(),
            "PUSH_APNS_TEAM_ID",
        ),
        ("PUSH_APNS_TOPIC", "ciel".into(), "PUSH_APNS_TOPIC"),
        (
            "PUSH_APNS_SANDBOX_URL",
            "api.example.org".into(),
            "PUSH_APNS_SANDBOX_URL",
        ),
        (
            "PUSH_FCM_SERVICE_ACCOUNT",
            "{".into(),
            "PUSH_FCM_SERVICE_ACCOUNT",
        ),
        (
            "PUSH_FCM_SERVICE_ACCOUNT",
            ec_account,
            "PUSH_FCM_SERVICE_ACCOUNT",
        ),
        ("PUSH_FCM_URL", "fcm".into(), "PUSH_FCM_URL"),
    ] {
        let mut bad = env.clone();
        bad.insert(var, value);
        let err = load(&bad).unwrap_err();
        assert_eq!(err.var, named, "{var}: {err}");
        assert!(!err.to_string().contains("BEGIN"), "never the value: {err}");
    }
    let mut partial = env.clone();
    partial.remove("PUSH_APNS_KEY");
    assert_eq!(load(&partial).unwrap_err().var, "PUSH_APNS_KEY");
}

#[test]
fn the_pdq_match_distance_is_metas_unless_told_otherwise() {
    let mut env = base();
    env.insert("APP_MODE", "serverless-worker".into());
    assert_eq!(load(&env).unwrap().worker.pdq_match_distance, 31);
    env.insert("PDQ_MATCH_DISTANCE", "0".into());
    assert_eq!(load(&env).unwrap().worker.pdq_match_distance, 0);
    for bad in ["65", "-1", "many"] {
        env.insert("PDQ_MATCH_DISTANCE", bad.into());
        assert_eq!(load(&env).unwrap_err().var, "PDQ_MATCH_DISTANCE", "{bad}");
    }
}
