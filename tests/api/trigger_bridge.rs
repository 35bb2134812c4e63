//! `ciel trigger-bridge` plays Scaleway's SQS trigger: these tests drive the
//! real serverless worker through it, on real SQS (moto) and S3 (s3s-fs),
//! and check the trigger's documented semantics: a status >= 300 is retried
//! (three attempts in all), at most ten requests are in flight, a 2xx
//! deletes the message; a message that keeps failing is left to the queue,
//! which dead-letters it, and the dead-letter bridge fails its photo.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::media::{DEADLINE, completed_photo, settled};
use crate::common::{Backing, MAX_RECEIVE_COUNT, SQS_REGION, TestApp, eventually, unique};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::post;
use ciel::config::Config;
use ciel::trigger_bridge::{ATTEMPTS, MAX_IN_FLIGHT, TriggerBridge};
use tokio::sync::{Notify, oneshot};
use uuid::Uuid;

struct Bridge {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Bridge {
    /// A bridge from `queue` to `target`, configured as the binary is: from
    /// the environment the compose file gives it.
    async fn spawn(queue: &str, target: String) -> Bridge {
        Self::spawn_with(queue, target, &[]).await
    }

    async fn spawn_with(queue: &str, target: String, extra: &[(&str, &str)]) -> Bridge {
        let mut env: HashMap<&str, String> = [
            ("QUEUE_ENDPOINT", crate::common::sqs_endpoint()),
            ("QUEUE_NAME", queue.to_string()),
            ("QUEUE_REGION", SQS_REGION.into()),
            ("QUEUE_ACCESS_KEY_ID", "test".into()),
            ("QUEUE_SECRET_ACCESS_KEY", "test".into()),
            ("TRIGGER_URL", target),
            ("TRIGGER_RETRY_DELAY_MS", "50".into()),
            ("HTTP_ADDR", "127.0.0.1:0".into()),
        ]
        .into_iter()
        .collect();
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let config = Config::trigger_bridge_from_lookup(|k| env.get(k).cloned()).unwrap();
        let bridge = TriggerBridge::build(config).await.expect("bridge");
        let addr = bridge.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bridge.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Bridge {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops receiving and waits for the deliveries in flight.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task
            .take()
            .unwrap()
            .await
            .unwrap()
            .expect("bridge stopped cleanly");
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn queue_url(queue: &str) -> String {
    crate::common::sqs_client()
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn set_visibility_timeout(queue: &str, seconds: u32) {
    crate::common::sqs_client()
        .set_queue_attributes()
        .queue_url(queue_url(queue).await)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            seconds.to_string(),
        )
        .send()
        .await
        .unwrap();
}

/// Messages on `queue`: (visible, in flight).
async fn counts(queue: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attributes = crate::common::sqs_client()
        .get_queue_attributes()
        .queue_url(queue_url(queue).await)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let count = |a: A| attributes[&a].parse::<u64>().unwrap();
    (
        count(A::ApproximateNumberOfMessages),
        count(A::ApproximateNumberOfMessagesNotVisible),
    )
}

/// Messages on `queue`, visible or in flight.
async fn messages_on(queue: &str) -> u64 {
    let (visible, in_flight) = counts(queue).await;
    visible + in_flight
}

async fn attempts(backing: &Backing, id: Uuid) -> i32 {
    sqlx::query_scalar("SELECT attempts FROM media WHERE id = $1")
        .bind(id)
        .fetch_one(&backing.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_bridge_drives_the_serverless_worker_as_scaleways_trigger_does() {
    let backing = Backing::new().await;
    // Short, so that a message left after three failures comes back soon;
    // still longer than three attempts against a worker that answers at once.
    set_visibility_timeout(&backing.queue_name, 3).await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let token = api.access_token(&unique("tb")).await;

    // The dead-letter queue's own trigger, as Terraform configures it.
    let _dead_letters = Bridge::spawn(&backing.dlq_name, worker.url("/dead-letters")).await;

    // A photo whose processing keeps failing: this worker's storage
    // credentials are refused, so every POST gets a 503.
    let mut broken = backing.env("serverless-worker");
    broken.insert("AWS_SECRET_ACCESS_KEY", "not-the-secret".into());
    let broken = TestApp::spawn(&backing, broken).await;
    let jobs = Bridge::spawn(&backing.queue_name, broken.url("/")).await;
    let addr = jobs.addr;
    tokio::task::spawn_blocking(move || ciel::healthcheck::check(addr))
        .await
        .unwrap()
        .expect("the bridge serves /health");
    let bad = completed_photo(&api, &token).await;
    let media = settled(&api, &token, bad).await;
    assert_eq!(media["status"], "failed", "{media}");
    assert_eq!(media["error"]["code"], "processing_abandoned", "{media}");
    // Three attempts per delivery, and the queue delivered it as often as
    // its redrive policy allows before dead-lettering it.
    assert_eq!(
        attempts(&backing, bad).await,
        (ATTEMPTS * MAX_RECEIVE_COUNT) as i32,
        "every delivery is tried exactly three times"
    );
    eventually(DEADLINE, "both queues to be empty", || async {
        (messages_on(&backing.queue_name).await == 0 && messages_on(&backing.dlq_name).await == 0)
            .then_some(())
    })
    .await;
    jobs.stop().await;

    // A photo the worker can process: one POST, a 200, the message deleted.
    // (The stopped bridge's last long poll may still take it once; the
    // queue hands it out again after the visibility timeout.)
    let _jobs = Bridge::spawn(&backing.queue_name, worker.url("/")).await;
    let good = completed_photo(&api, &token).await;
    let media = settled(&api, &token, good).await;
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(attempts(&backing, good).await, 1, "one POST was enough");
    eventually(DEADLINE, "the delivered message to be deleted", || async {
        (messages_on(&backing.queue_name).await == 0).then_some(())
    })
    .await;
}

/// A target that counts the requests it holds, answers `status`, and holds
/// each request until released.
#[derive(Clone, Default)]
struct Target {
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
    release: Arc<Notify>,
    released: Arc<std::sync::atomic::AtomicBool>,
}

async fn hold(State(target): State<Target>, _body: String) -> AxumStatus {
    let now = target.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    target.most.fetch_max(now, Ordering::SeqCst);
    target.received.fetch_add(1, Ordering::SeqCst);
    let released = target.release.notified();
    if !target.released.load(Ordering::SeqCst) {
        released.await;
    }
    target.in_flight.fetch_sub(1, Ordering::SeqCst);
    AxumStatus::OK
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/")
}

#[tokio::test]
async fn at_most_ten_requests_are_in_flight() {
    let backing = Backing::new().await;
    let queue = backing.queue();
    let total = MAX_IN_FLIGHT + 3;
    for i in 0..total {
        queue.send(format!("{{\"n\":{i}}}")).await.unwrap();
    }
    let target = Target::default();
    let url = serve(
        Router::new()
            .route("/", post(hold))
            .with_state(target.clone()),
    )
    .await;
    let _bridge = Bridge::spawn(&backing.queue_name, url).await;
    // Ten held by the target, and the rest still on the queue, untaken.
    eventually(DEADLINE, "ten requests in flight", || async {
        (target.in_flight.load(Ordering::SeqCst) == MAX_IN_FLIGHT).then_some(())
    })
    .await;
    let (visible, _) = counts(&backing.queue_name).await;
    assert_eq!(
        visible as usize,
        total - MAX_IN_FLIGHT,
        "the rest wait on the queue"
    );
    assert_eq!(target.received.load(Ordering::SeqCst), MAX_IN_FLIGHT);

    target.released.store(true, Ordering::SeqCst);
    target.release.notify_waiters();
    eventually(DEADLINE, "every message delivered and deleted", || async {
        (target.received.load(Ordering::SeqCst) == total
            && messages_on(&backing.queue_name).await == 0)
            .then_some(())
    })
    .await;
    assert_eq!(target.most.load(Ordering::SeqCst), MAX_IN_FLIGHT);
}

/// Answers the statuses in order, then 200.
async fn scripted(State(script): State<Arc<std::sync::Mutex<Vec<u16>>>>) -> AxumStatus {
    let next = script.lock().unwrap().pop();
    AxumStatus::from_u16(next.unwrap_or(200)).unwrap()
}

#[tokio::test]
async fn any_status_from_300_up_is_retried_and_a_third_failure_leaves_the_message() {
    let backing = Backing::new().await;
    set_visibility_timeout(&backing.queue_name, 30).await;
    let queue = backing.queue();

    // A redirect and a server error, then a success: delivered on attempt 3.
    let script = Arc::new(std::sync::Mutex::new(vec![503, 302]));
    let url = serve(
        Router::new()
            .route("/", post(scripted))
            .with_state(script.clone()),
    )
    .await;
    let bridge = Bridge::spawn(&backing.queue_name, url).await;
    queue.send("{\"n\":1}".into()).await.unwrap();
    eventually(DEADLINE, "the message to be delivered", || async {
        (messages_on(&backing.queue_name).await == 0).then_some(())
    })
    .await;
    assert!(
        script.lock().unwrap().is_empty(),
        "both failures were retried"
    );
    bridge.stop().await;

    // Three refusals: the message is not deleted, but left in flight for
    // the queue to redeliver (and, past its receive count, dead-letter).
    // A queue of its own: the stopped bridge's last long poll may still
    // take a message from the first one.
    let second = format!("{}-refusals", backing.queue_name);
    crate::common::sqs_client()
        .create_queue()
        .queue_name(&second)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "30",
        )
        .send()
        .await
        .unwrap();
    let queue = ciel::infra::queue::Queue::new(&backing.queue_config(&second));
    let script = Arc::new(std::sync::Mutex::new(vec![429, 500, 300, 404]));
    let url = serve(
        Router::new()
            .route("/", post(scripted))
            .with_state(script.clone()),
    )
    .await;
    let bridge = Bridge::spawn(&second, url).await;
    queue.send("{\"n\":2}".into()).await.unwrap();
    eventually(DEADLINE, "three attempts", || async {
        (script.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    bridge.stop().await;
    assert_eq!(
        *script.lock().unwrap(),
        vec![429],
        "no fourth attempt within one delivery"
    );
    assert_eq!(
        messages_on(&second).await,
        1,
        "the message stays on the queue"
    );
}

#[tokio::test]
async fn photos_whose_messages_a_trigger_dropped_are_finished_by_the_reconciler() {
    let backing = Backing::new().await;
    // A stopped bridge abandons its long poll: a message that poll still
    // takes is hidden this long.
    set_visibility_timeout(&backing.queue_name, 5).await;
    let mut env = backing.env("api");
    env.insert("MEDIA_RECONCILE_EVERY_SECS", "1".into());
    let api = TestApp::spawn(&backing, env).await;
    let token = api.access_token(&unique("rd")).await;
    let started = std::time::Instant::now();

    // A worker failing transiently (its storage credentials are refused:
    // every POST is a 503), behind a trigger that deletes a message after
    // its third failed attempt: the worst case of what Scaleway may do.
    let mut broken = backing.env("serverless-worker");
    broken.insert("AWS_SECRET_ACCESS_KEY", "not-the-secret".into());
    let broken = TestApp::spawn(&backing, broken).await;
    let drop_on_give_up = [("TRIGGER_ON_GIVE_UP", "delete")];
    let failing = Bridge::spawn_with(&backing.queue_name, broken.url("/"), &drop_on_give_up).await;
    let mut photos = Vec::new();
    for _ in 0..PHOTOS {
        photos.push(completed_photo(&api, &token).await);
    }
    eventually(
        DEADLINE,
        "the trigger to give up on every photo",
        || async {
            let mut all = true;
            for &id in &photos {
                all &= attempts(&backing, id).await >= ATTEMPTS as i32;
            }
            (all && messages_on(&backing.queue_name).await == 0).then_some(())
        },
    )
    .await;
    failing.stop().await;
    let given_up = started.elapsed();

    // The failure passes. No message is left anywhere; the photos would
    // wait for ever but for the reconciler. Their 30 minutes pass at once:
    let pool = backing.pool().await;
    sqlx::query("UPDATE media SET updated_at = now() - interval '2 hours' WHERE id = ANY($1)")
        .bind(&photos)
        .execute(&pool)
        .await
        .unwrap();
    let worker = TestApp::spawn(&backing, backing.env("serverless-worker")).await;
    let _jobs = Bridge::spawn_with(&backing.queue_name, worker.url("/"), &drop_on_give_up).await;
    for &id in &photos {
        let media = settled(&api, &token, id).await;
        assert_eq!(media["status"], "ready", "{media}");
    }
    let requeues: Vec<i32> = sqlx::query_scalar("SELECT requeues FROM media WHERE id = ANY($1)")
        .bind(&photos)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(requeues.iter().all(|&n| n >= 1), "{requeues:?}");
    println!(
        "dropped by the trigger: {PHOTOS} photos given up on after {given_up:?}, \
         all ready {:?} after the start, requeues {requeues:?}",
        started.elapsed()
    );
}

const PHOTOS: usize = 5;
