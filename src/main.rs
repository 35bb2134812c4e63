use std::process::ExitCode;

use ciel::app::{Application, shutdown_signal};
use ciel::config::{Config, LogFormat};
use ciel::infra::db;
use ciel::trigger_bridge::TriggerBridge;
use ciel::{healthcheck, telemetry};

const HELP: &str = "\
ciel: the Ciel photo-sharing backend

USAGE:
    ciel            run the mode named by APP_MODE
    ciel migrate    apply the database migrations to DATABASE_URL and exit
    ciel openapi    print the OpenAPI document and exit
    ciel healthcheck
                    GET /health on the port HTTP_ADDR (or PORT) names; exit 0 on a 200,
                    1 otherwise (the container's HEALTHCHECK: no shell or curl needed)
    ciel trigger-bridge
                    Scaleway's SQS trigger for local stacks: long-polls QUEUE_NAME and POSTs
                    each body to TRIGGER_URL; a status >= 300 is retried (3 attempts in all),
                    at most 10 requests in flight, a 2xx deletes the message; after the third
                    failure the message is left to the queue (redelivery, then its DLQ)
    ciel advise [--metrics-url URL]... [--json]
                    the scaling decision matrix, measured: API p95 latency (/metrics),
                    Redis memory, PostgreSQL connections, queue depths; for each row
                    that fires, the scenario, its terraform command and its monthly cost
    ciel --help     show this text

MODES (APP_MODE):
    api                HTTP API for the apps; enqueues media jobs to SQS
    serverless-worker  HTTP server for Scaleway's SQS trigger: each POST body is one
                       media job (needs only the database and S3)
    worker             long-polls SQS and processes media jobs
    dev                api and worker in one process, migrating on start (local work)

VARIABLES (required by the modes in brackets; others optional):
    APP_MODE                    api | serverless-worker | worker | dev            [all]
    DATABASE_URL                postgres://user:pass@host:5432/db                 [all]
    DATABASE_MAX_CONNECTIONS    pool size (default 10)
    DATABASE_READ_URL           optional read replica for reads that may lag        [api]
    S3_ENDPOINT                 object storage endpoint, http(s)://...            [all]
    S3_REGION                   e.g. fr-par                                       [all]
    S3_BUCKET                   media bucket                                      [all]
    S3_PUBLIC_ENDPOINT          public base URL of the bucket (CDN); variants are
                                then served from it instead of presigned GETs
    AWS_ACCESS_KEY_ID           storage (and, by default, queue) access key       [all]
    AWS_SECRET_ACCESS_KEY       its secret                                        [all]
    QUEUE_ENDPOINT              SQS endpoint, http(s)://...                       [api, worker, dev]
    QUEUE_NAME                  media jobs queue name                             [api, worker, dev]
    QUEUE_REGION                SQS signing region (default: S3_REGION)
    QUEUE_DEAD_LETTER_NAME      dead-letter queue to poll; its jobs' photos are marked failed
                                [worker; dev default: QUEUE_NAME-dlq]
    QUEUE_ACCESS_KEY_ID         SQS credentials when they differ from AWS_*
    QUEUE_SECRET_ACCESS_KEY     their secret
    REDIS_URL                   redis:// or rediss:// URL                         [api, dev]
    REDIS_CA_CERT               rediss:// only: path of a PEM file whose certificates are
                                trusted instead of the system's (managed Redis's certificate)
    PASETO_ACCESS_KEY           base64 of exactly 32 random bytes                 [api, dev]
    PASETO_REFRESH_KEY          base64 of exactly 32 random bytes, another key    [api, dev]
    PASETO_ACCESS_KEY_PREVIOUS  previous access key, still verified (rotation)
    PASETO_REFRESH_KEY_PREVIOUS previous refresh key, still verified (rotation)
    ACCESS_TOKEN_TTL_SECS       access token lifetime (default 900)
    REFRESH_TOKEN_TTL_SECS      refresh token lifetime (default 2592000, 30 days)
    UPLOAD_MAX_BYTES            largest accepted upload (default 26214400, 25 MiB)
    RATE_LIMIT_REGISTER         sign-ups per client network (IPv4 address or IPv6 /64),
                                QUOTA/WINDOW (default 5/30m)
    RATE_LIMIT_LOGIN            sign-ins per client network (default 10/5m)
    RATE_LIMIT_WRITES           writes per user (default 60/1m)
    RATE_LIMIT_REFRESH          token refreshes per client network (default 60/1m)
    RATE_LIMIT_REFRESH_SESSION  token refreshes per session (default 10/10m)
    RATE_LIMIT_LOGIN_ACCOUNT    failed sign-ins to one account, from anywhere, past which
                                networks that never signed in to it get one try per 10 s
                                (default 50/1h; each account+network pair also backs off
                                from 15 s to 15 min after 5 failures)
    RATE_LIMIT_FORGOT           password reset requests per client network (default 10/1h)
    RATE_LIMIT_FORGOT_ADDRESS   password reset requests per address asked about (default 3/1h)
    RATE_LIMIT_ACCOUNT_TOKEN    mailed tokens presented (verify, reset) per network (default 30/1h)
    RATE_LIMIT_ACCOUNT_MAIL     verification resends and email changes per user (default 5/1h)
    SMTP_URL                    account mail: smtps://user:pass@host:465 (TLS) or
                                smtp://host:587?tls=required (STARTTLS)      [optional; worker, dev]
                                without it, dev logs each mail's link and workers keep mails pending
    MAIL_FROM                   sender, `Name <address>`; needed with SMTP_URL
    APP_LINK_BASE_URL           base of the mailed links, e.g. https://ciel.example.com/app;
                                links are BASE/verify-email, /reset-password, /confirm-email ?token=
    SNS_TOPIC_ARN               topic of Transactional Email's bounce webhook; enables
                                POST /v1/mail/sns (signed SNS messages only)          [api]
    SNS_TRUST_CHAIN             with SNS_TOPIC_ARN: PEM file of Scaleway's SNS CA
    SNS_CERT_URL_PREFIX         SigningCertURL must start with it (default https://)
    TRUSTED_PROXIES             comma-separated IPs/CIDRs whose X-Forwarded-For is believed
    ADMIN_TOKEN                 when set, GET /metrics needs `Authorization: Bearer <it>`
    WORKER_CONCURRENCY          media jobs at once per process (default 2)
    WORKER_MEMORY_BUDGET_MB     MiB the jobs may use at once; each waits for its estimated
                                peak (default 384, for a 512 MB container)
    WORKER_TRIGGER_PATH         path the SQS trigger POSTs to (default /)
    WORKER_DEAD_LETTER_PATH     path the dead-letter queue's trigger POSTs to (default /dead-letters)
    WORKER_VISIBILITY_TIMEOUT_SECS  how long a long-polled job stays hidden, extended while it
                                runs (default 60; keep it below the queue's own setting)
    WORKER_JOB_TIME_LIMIT_SECS  processing time of a 50 MP photo, fractions allowed; a smaller
                                one gets its share by pixels, at least a tenth (default 30);
                                past it the photo fails with processing_timed_out
    WORKER_REQUEST_TIMEOUT_SECS longest a job takes from arrival to answer, waiting for a slot
                                included: set it to the serverless container's timeout
                                (default 300); the worker stops extending visibility past it
    TRIGGER_URL                 trigger-bridge: where each message body is POSTed,
                                http://host:port/path                             [trigger-bridge]
    TRIGGER_RETRY_DELAY_MS      trigger-bridge: pause before the 2nd attempt; the 3rd waits
                                twice as long (default 1000)
    HTTP_ADDR                   listen address; when unset 0.0.0.0:$PORT, else 0.0.0.0:8080
    PORT                        listen port when HTTP_ADDR is unset
    RUST_LOG                    log filter, e.g. info or debug,tower_http=debug
    LOG_FORMAT                  json (default) or text
";

/// Blocks this large or larger are mmapped, and unmapped when freed.
const MMAP_THRESHOLD: i32 = 4 << 20;

/// glibc raises its mmap threshold to the largest block freed (up to
/// 32 MiB). After the first sign-in, argon2's 19 MiB blocks (and large image
/// buffers) then come from the heap arenas, which keep them resident: under
/// sign-ins alone the RSS reached 928 MiB (`SOAK_ONLY=login scripts/soak`).
/// A fixed threshold keeps them mmapped: 35 MiB under the same load.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets an allocator parameter; called before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    // `ciel __ciel-imaging-child` serves one HEIC/AVIF decode and exits; any other run
    // processes its HEIC/AVIF files in such children (crates/imaging/README.md, "Isolation").
    ciel_imaging::isolation::init();
    let command = std::env::args().nth(1);
    match command.as_deref() {
        Some("-h" | "--help" | "help") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("ciel {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("openapi") => {
            println!(
                "{}",
                ciel::http::openapi_document()
                    .to_pretty_json()
                    .expect("OpenAPI serialises")
            );
            ExitCode::SUCCESS
        }
        Some("migrate") => run(migrate()),
        Some("healthcheck") => healthcheck(),
        Some("trigger-bridge") => run(trigger_bridge()),
        Some("advise") => run(advise(std::env::args().skip(2).collect())),
        None | Some("serve") => run(serve()),
        Some(other) => {
            eprintln!("ciel: unknown command {other:?}; see ciel --help");
            ExitCode::from(2)
        }
    }
}

fn run(task: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ciel: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, and the cause chain on it.
            eprintln!("ciel: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate() -> anyhow::Result<()> {
    let database = Config::database_from_env()?;
    telemetry::init_logs(LogFormat::Json);
    let pool = db::pool(&database)?;
    db::migrate(&pool).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Synchronous and without the async runtime: it runs every few seconds in
/// every container, so it starts and exits as fast as it can.
fn healthcheck() -> ExitCode {
    let listen = match Config::http_addr_from_lookup(|var| std::env::var(var).ok()) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("ciel: {e}");
            return ExitCode::FAILURE;
        }
    };
    match healthcheck::check(healthcheck::target(listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ciel: unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn trigger_bridge() -> anyhow::Result<()> {
    let config = Config::trigger_bridge_from_lookup(|var| std::env::var(var).ok())?;
    telemetry::init_logs(config.log_format);
    let bridge = TriggerBridge::build(config).await?;
    bridge.run_until_stopped(shutdown_signal()).await
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    telemetry::init_logs(config.log_format);
    tracing::info!(mode = config.mode.as_str(), "starting");
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}

async fn advise(args: Vec<String>) -> anyhow::Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", ciel::advise::USAGE);
        return Ok(());
    }
    let args = ciel::advise::Args::parse(&args).map_err(anyhow::Error::msg)?;
    let config = Config::advise_from_lookup(|var| std::env::var(var).ok())?;
    let advice = ciel::advise::advise(&config, &args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&advice)?);
    } else {
        print!("{}", ciel::advise::render(&advice));
    }
    Ok(())
}
