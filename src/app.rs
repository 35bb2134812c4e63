//! Start-up as a value: `Application::build` wires the mode's parts and
//! binds the listener (port 0 in tests); `run_until_stopped` serves until
//! the shutdown future resolves, then drains in-flight requests and jobs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::password::Hasher;
use crate::auth::revocations::Revocations;
use crate::auth::tokens::Tokens;
use crate::auth::{AccountLimits, Auth};
use crate::config::{Config, Mode};
use crate::http::ops::OpsContext;
use crate::http::{self, ApiContext};
use crate::infra::db;
use crate::infra::queue::Queue;
use crate::infra::redis::RedisHandle;
use crate::infra::s3::Storage;
use crate::infra::signals::{SAMPLE_INTERVAL, Signals};
use crate::ratelimit::RateLimiter;
use crate::social::Db;
use crate::social::feed::{Feed, ScanBudget, Timelines};
use crate::social::render::Photos;
use crate::telemetry;
use crate::trust::Trust;
use crate::worker::Worker;
use crate::worker::poller::{self, Deliveries};

pub struct Application {
    listener: TcpListener,
    router: Router,
    pollers: Vec<(Worker, Queue, Deliveries)>,
    polls: poller::Polls,
    /// The serverless worker's jobs, which outlive their requests: waited
    /// for on shutdown.
    detached_jobs: Option<Worker>,
    signals: Option<Signals>,
    http_limits: crate::config::HttpLimits,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::pool(&config.database).context("database pool")?;
        if config.mode == Mode::Dev {
            db::migrate(&pool).await.context("apply migrations")?;
        }
        let storage = Storage::new(&config.s3);
        let queue = config.queue.as_ref().map(Queue::new);
        if config.mode == Mode::Dev {
            prepare_local_services(&storage, queue.as_ref()).await?;
        }
        let mut worker = Worker::new(pool.clone(), storage.clone(), &config.worker);
        if let Some(mail) = &config.mail {
            worker = worker.with_mailer(crate::mail::Mailer::new(mail)?);
        }
        if let Some(push) = &config.push {
            worker = worker.with_pushers(crate::push::Pushers::new(Some(push))?);
        }
        if let (Mode::Worker | Mode::Dev, Some(queue)) = (config.mode, &queue) {
            // Exports have no time bound: not for the serverless trigger.
            worker = worker.with_long_jobs(queue.clone());
        }
        let metrics = telemetry::metrics_handle();
        let mut signals = None;

        let router = match (config.mode, &config.api) {
            (Mode::Api | Mode::Dev, Some(api)) => {
                let redis = RedisHandle::new(api.redis_url.expose(), api.redis_ca_cert.as_deref())
                    .context("REDIS_URL")?;
                let tokens = Tokens::new(&api.tokens);
                let revocations = Revocations::new(
                    redis.clone(),
                    pool.clone(),
                    &config.redis_key_prefix,
                    api.tokens.access_ttl,
                );
                let hasher = tokio::task::spawn_blocking(Hasher::new).await?;
                let social = Db {
                    primary: pool.clone(),
                    replica: db::read_pool(&config.database, &pool).context("DATABASE_READ_URL")?,
                };
                let api_queue = queue.clone().context("the API needs the queue")?;
                let limiter = Arc::new(RateLimiter::new(redis.clone(), &config.redis_key_prefix));
                let feed = Feed::new(
                    social.clone(),
                    Timelines::new(redis.clone(), &config.redis_key_prefix),
                )
                .with_scan_budget(ScanBudget {
                    limiter: limiter.clone(),
                    policy: api.rate_limits.feed_scans.clone(),
                });
                let account_limits = AccountLimits::new(limiter.clone(), &api.rate_limits);
                let auth = Arc::new(Auth::new(
                    pool.clone(),
                    hasher,
                    tokens,
                    revocations,
                    api_queue.clone(),
                    account_limits,
                ));
                let trust = Arc::new(Trust::new(
                    social.clone(),
                    auth.clone(),
                    storage.clone(),
                    limiter.clone(),
                    api.trust.clone(),
                ));
                let ctx = Arc::new(ApiContext {
                    db: pool.clone(),
                    auth,
                    trust,
                    limiter,
                    rate_limits: api.rate_limits.clone(),
                    storage: storage.clone(),
                    queue: api_queue,
                    upload_max_bytes: api.upload_max_bytes,
                    social,
                    urls: Photos::new(storage.clone()),
                    feed,
                    admin_token: api.admin_token.clone().map(Arc::new),
                    sns: api
                        .mail_events
                        .as_ref()
                        .map(|e| {
                            crate::mail::bounces::SnsVerifier::new(
                                e.topic_arn.clone(),
                                &e.trust_chain_pem,
                                e.cert_url_prefix.clone(),
                            )
                        })
                        .transpose()?
                        .map(Arc::new),
                    signup: api.signup.clone(),
                    cdn: api
                        .cdn_purge
                        .as_ref()
                        .map(crate::infra::cdn::Purger::new)
                        .transpose()?
                        .map(Arc::new),
                });
                spawn_api_chores(&ctx);
                spawn_reconciler(&ctx, api.reconcile.clone());
                spawn_trust_run(&ctx);
                signals = Some(Signals::new(
                    pool.clone(),
                    queue.clone(),
                    Some(redis.clone()),
                ));
                let ops = OpsContext {
                    db: pool.clone(),
                    redis: Some(redis),
                    metrics,
                    metrics_token: config.metrics_token.clone().map(Arc::new),
                };
                http::api_router(ctx, ops)
            }
            _ => {
                let ops = OpsContext {
                    db: pool.clone(),
                    redis: None,
                    metrics,
                    metrics_token: config.metrics_token.clone().map(Arc::new),
                };
                let (ops_router, _) = http::ops_routes(ops).split_for_parts();
                let ops_router = http::with_request_timeout(ops_router);
                let router = if config.mode == Mode::ServerlessWorker {
                    ops_router.merge(http::trigger::trigger_router(
                        worker.clone(),
                        &config.worker.trigger_path,
                        &config.worker.dead_letter_path,
                    ))
                } else {
                    ops_router
                };
                http::with_common_layers(router)
            }
        };
        let detached_jobs = (config.mode == Mode::ServerlessWorker).then(|| worker.clone());
        let pollers = match config.mode {
            Mode::Worker | Mode::Dev => {
                let queue = queue.context("the worker needs the queue")?;
                let dead_letters = queue.dead_letters();
                let mut pollers = vec![(worker.clone(), queue, Deliveries::Jobs)];
                if let Some(dead_letters) = dead_letters {
                    pollers.push((worker, dead_letters, Deliveries::DeadLetters));
                }
                pollers
            }
            Mode::Api | Mode::ServerlessWorker => Vec::new(),
        };
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("bind {}", config.http_addr))?;
        Ok(Self {
            listener,
            router,
            pollers,
            polls: poller::Polls {
                long_poll: config.worker.long_poll,
                visibility: config.worker.visibility_timeout,
            },
            detached_jobs,
            signals,
            http_limits: config.http_limits.clone(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = Stop::on(shutdown);
        tracing::info!(addr = %self.local_addr(), "listening");
        if let Some(signals) = self.signals {
            tokio::spawn(signals.run(SAMPLE_INTERVAL, stop.stopped()));
        }
        let polls = self.polls;
        let pollers: Vec<_> = self
            .pollers
            .into_iter()
            .map(|(worker, queue, deliveries)| {
                tokio::spawn(poller::run(
                    worker,
                    queue,
                    deliveries,
                    polls,
                    stop.stopped(),
                ))
            })
            .collect();
        http::serve::serve(
            self.listener,
            self.router,
            &self.http_limits,
            stop.stopped(),
        )
        .await;
        for poller in pollers {
            poller.await.context("worker task")?;
        }
        if let Some(worker) = self.detached_jobs {
            // Each job ends by its own deadline; wait no longer than that.
            worker.drain(worker.request_timeout()).await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// How often the API process sweeps: stalled account purges, pending mails and pushes, old
/// idempotency keys, abandoned uploads, originals being restored, withheld photos, story
/// photos to move and stories to sweep, CDN purges.
const CHORES_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Periodic upkeep of the API process. Every instance runs it; each chore is
/// idempotent, so overlapping runs only repeat work. It ends with the
/// process's router (the last holder of the context).
fn spawn_api_chores(ctx: &Arc<ApiContext>) {
    let weak = Arc::downgrade(ctx);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(CHORES_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(ctx) = weak.upgrade() else { break };
            if let Err(e) =
                crate::social::accounts::requeue_stalled_purges(&ctx.db, &ctx.queue).await
            {
                tracing::warn!(error = %e, "could not re-queue stalled account purges");
            }
            if let Err(e) =
                crate::mail::requeue_pending(&ctx.db, &ctx.queue, crate::mail::MAIL_RETRY_AFTER)
                    .await
            {
                tracing::warn!(error = %e, "could not re-queue pending mails");
            }
            if let Err(e) =
                crate::push::requeue_pending(&ctx.db, &ctx.queue, crate::push::PUSH_RETRY_AFTER)
                    .await
            {
                tracing::warn!(error = %e, "could not re-queue pending pushes");
            }
            if let Err(e) = crate::social::export::sweep(&ctx.db, &ctx.storage, &ctx.queue).await {
                tracing::warn!(error = %e, "could not sweep data exports");
            }
            if let Err(e) =
                crate::social::export::build_due(&ctx.db, &ctx.storage, &ctx.queue).await
            {
                tracing::warn!(error = %e, "could not start a data export");
            }
            if let Err(e) = crate::social::accounts::end_legal_holds(&ctx.db, &ctx.storage).await {
                tracing::warn!(error = %e, "could not end legal holds");
            }
            if let Err(e) = crate::social::idempotency::prune(&ctx.db).await {
                tracing::warn!(error = %e, "could not prune idempotency keys");
            }
            if let Err(e) = crate::media::sweep::run(&ctx.db, &ctx.storage).await {
                tracing::warn!(error = %e, "could not sweep abandoned uploads");
            }
            if let Err(e) = crate::media::withhold::reconcile(&ctx.db, &ctx.storage).await {
                tracing::warn!(error = %e, "could not move withheld photos' variants");
            }
            if let Err(e) =
                crate::social::stories::photos::finish_moves(&ctx.db, &ctx.storage).await
            {
                tracing::warn!(error = %e, "could not move story photos' variants");
            }
            if let Err(e) = crate::social::explore::refresh(&ctx.db).await {
                tracing::warn!(error = %e, "could not take explore's snapshot");
            }
            if let Err(e) = crate::social::mutes::prune(&ctx.db).await {
                tracing::warn!(error = %e, "could not prune mutes that ran out");
            }
            if let Err(e) = crate::social::stories::sweep::run(&ctx.db, &ctx.storage).await {
                tracing::warn!(error = %e, "could not sweep stories");
            }
            if let Err(e) = crate::media::withhold::send_purges(&ctx.db, ctx.cdn.as_deref()).await {
                tracing::warn!(error = %e, "could not send CDN purges");
            }
            if let Err(e) =
                crate::media::originals::check_restores(&ctx.db, &ctx.storage, &ctx.queue).await
            {
                tracing::warn!(error = %e, "could not look at originals being restored");
            }
        }
    });
}

/// The media reconciler of this API instance; it ends with the router.
fn spawn_reconciler(ctx: &Arc<ApiContext>, config: crate::config::ReconcileConfig) {
    let weak = Arc::downgrade(ctx);
    tokio::spawn(crate::media::reconcile::run(
        ctx.db.clone(),
        ctx.queue.clone(),
        config,
        move || weak.strong_count() > 0,
    ));
}

/// The trust levels' run of this API instance (promotions, demotions,
/// suspensions that ran out), every `TRUST_EVERY_SECS`: its own period, not
/// the chores', so that it can be set apart. It ends with the router.
fn spawn_trust_run(ctx: &Arc<ApiContext>) {
    let weak = Arc::downgrade(ctx);
    tokio::spawn(crate::trust::run::run(ctx.trust.clone(), move || {
        weak.strong_count() > 0
    }));
}

/// Locally nothing provisions the bucket and queues: the dev process does.
async fn prepare_local_services(storage: &Storage, queue: Option<&Queue>) -> anyhow::Result<()> {
    storage
        .ensure_bucket()
        .await
        .context("create the local bucket")?;
    if let Some(queue) = queue {
        queue
            .ensure_exists(5)
            .await
            .context("create the local queues")?;
    }
    Ok(())
}

/// Resolves on SIGTERM (what containers get) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; draining");
}

/// One shutdown, seen by every task that must stop with it.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Every [`Stop::stopped`] resolves once `shutdown` does.
    pub fn on(shutdown: impl Future<Output = ()> + Send + 'static) -> Self {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        Stop(rx)
    }

    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

/// Blocks this large or larger are mmapped, and unmapped when freed.
const MMAP_THRESHOLD: i32 = 4 << 20;

/// glibc raises its mmap threshold to the largest block freed (up to
/// 32 MiB). After the first sign-in, argon2's 19 MiB blocks (and large image
/// buffers) then come from the heap arenas, which keep them resident: under
/// sign-ins alone the RSS reached 928 MiB (`SOAK_ONLY=login scripts/soak`).
/// A fixed threshold keeps them mmapped: 35 MiB under the same load.
/// (Password hashing keeps its blocks for reuse, `auth/password.rs`.) The
/// binary calls this first thing; benchmarks that run the app in process
/// call it too, so that they allocate as production does.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets an allocator parameter; called before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
