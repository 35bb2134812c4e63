use std::process::ExitCode;

use ciel::app::{Application, shutdown_signal};
use ciel::config::{Config, LogFormat};
use ciel::infra::db;
use ciel::trigger_bridge::TriggerBridge;
use ciel::{healthcheck, telemetry};

const USAGE: &str = "\
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

VARIABLES (required by the modes or commands in brackets; others optional):
";

fn main() -> ExitCode {
    // Before any other thread exists.
    ciel::app::return_large_blocks_to_the_system();
    // `ciel __ciel-imaging-child` serves one HEIC/AVIF decode and exits; any other run
    // processes its HEIC/AVIF files in such children (crates/imaging/README.md, "Isolation").
    ciel_imaging::isolation::init();
    let command = std::env::args().nth(1);
    match command.as_deref() {
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}{}", ciel::config::variables_help());
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
