//! Real restarts under a mixed load (sign-ins, reads, sign-ups, uploads,
//! follows from several clients at once): a server of the test's own is
//! stopped and started while the load runs. Nothing may answer 500, every
//! write that got a 2xx must be there afterwards, and the API must serve
//! again within 5 s. Each test prints its figures.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::postgres::PrivatePostgres;
use crate::common::redis::PrivateRedis;
use crate::common::{Backing, PASSWORD, Reply, TestApp, eventually, unique};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::Mutex;
use uuid::Uuid;

const RECOVERY: Duration = Duration::from_secs(5);
const CLIENTS: usize = 6;

/// A signed-in user of the load.
#[derive(Clone)]
struct Member {
    handle: String,
    token: String,
}

/// What the load saw, and the writes the API acknowledged.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<(&'static str, u16), usize>,
    /// Answers that break the promise: a 5xx other than a 503 with
    /// `Retry-After`.
    broken: Vec<String>,
    registered: Vec<String>,
    uploads: Vec<Uuid>,
    follows: Vec<(String, String)>,
}

impl Tally {
    fn record(&mut self, operation: &'static str, reply: &Reply) {
        *self
            .statuses
            .entry((operation, reply.status.as_u16()))
            .or_default() += 1;
        let unavailable = reply.status == StatusCode::SERVICE_UNAVAILABLE
            && reply.header("retry-after").is_some()
            && reply.code().ends_with("unavailable");
        if reply.status.is_server_error() && !unavailable {
            self.broken
                .push(format!("{operation}: {} {}", reply.status, reply.body));
        }
    }

    fn requests(&self) -> usize {
        self.statuses.values().sum()
    }

    fn unavailable(&self) -> usize {
        self.statuses
            .iter()
            .filter(|((_, status), _)| *status == 503)
            .map(|(_, n)| n)
            .sum()
    }
}

async fn members(app: &TestApp, n: usize) -> Vec<Member> {
    let mut members = Vec::new();
    for _ in 0..n {
        let handle = unique("ld");
        let token = app.access_token(&handle).await;
        members.push(Member { handle, token });
    }
    members
}

/// One client: a round of every kind of request, over and over, until `stop`.
async fn client(
    app: Arc<TestApp>,
    me: Member,
    others: Vec<Member>,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
) {
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let login = app
            .post(
                "/v1/auth/login",
                None,
                json!({ "login": me.handle, "password": PASSWORD }),
            )
            .await;
        tally.lock().await.record("login", &login);

        let read = app.get("/v1/me", Some(&me.token)).await;
        tally.lock().await.record("me", &read);
        let feed = app.get("/v1/feed", Some(&me.token)).await;
        tally.lock().await.record("feed", &feed);

        let handle = unique("su");
        let signup = app.try_register(&handle).await;
        let mut t = tally.lock().await;
        t.record("register", &signup);
        if signup.status.is_success() {
            t.registered.push(handle);
        }
        drop(t);

        let upload = app
            .post(
                "/v1/media/uploads",
                Some(&me.token),
                json!({ "content_type": "image/jpeg", "byte_size": 1000 }),
            )
            .await;
        let mut t = tally.lock().await;
        t.record("upload", &upload);
        if upload.status.is_success() {
            t.uploads
                .push(upload.body["media_id"].as_str().unwrap().parse().unwrap());
        }
        drop(t);

        let other = &others[round % others.len()];
        let follow = app
            .post(
                &format!("/v1/users/{}/follow", other.handle),
                Some(&me.token),
                json!({}),
            )
            .await;
        let mut t = tally.lock().await;
        t.record("follow", &follow);
        if follow.status.is_success() {
            t.follows.push((me.handle.clone(), other.handle.clone()));
        }
    }
}

/// Runs the load while `fault` runs, then `after` more; returns the tally.
async fn under_load<F: Future<Output = ()>>(
    app: TestApp,
    members: Vec<Member>,
    fault: impl FnOnce(Arc<TestApp>, Arc<Mutex<Tally>>) -> F,
    after: Duration,
) -> (Arc<TestApp>, Tally) {
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut clients = Vec::new();
    for (i, me) in members.iter().enumerate() {
        let others: Vec<Member> = members
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, m)| m.clone())
            .collect();
        clients.push(tokio::spawn(client(
            app.clone(),
            me.clone(),
            others,
            stop.clone(),
            tally.clone(),
        )));
    }
    // Some load before the fault, so it lands on busy connections.
    eventually(Duration::from_secs(30), "the load to get going", || {
        let tally = tally.clone();
        async move { (tally.lock().await.requests() >= 3 * CLIENTS).then_some(()) }
    })
    .await;
    fault(app.clone(), tally.clone()).await;
    let until = Instant::now() + after;
    eventually(
        after + Duration::from_secs(30),
        "the load to run on",
        || async { (Instant::now() >= until).then_some(()) },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner();
    (app, tally)
}

/// Polls `/v1/me` until it answers 200; how long that took.
async fn served_again(app: &TestApp, token: &str) -> Duration {
    let back = Instant::now();
    eventually(RECOVERY, "the API to serve again", || async {
        (app.get("/v1/me", Some(token)).await.status == StatusCode::OK).then_some(())
    })
    .await;
    back.elapsed()
}

async fn assert_acknowledged_writes_kept(pool: &PgPool, tally: &Tally) {
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE handle = ANY($1)")
        .bind(&tally.registered)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        users as usize,
        tally.registered.len(),
        "acknowledged sign-ups"
    );
    let uploads: i64 = sqlx::query_scalar("SELECT count(*) FROM media WHERE id = ANY($1)")
        .bind(&tally.uploads)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        uploads as usize,
        tally.uploads.len(),
        "acknowledged uploads"
    );
    for (follower, followee) in &tally.follows {
        let kept: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM follows f JOIN users a ON a.id = f.follower_id \
             JOIN users b ON b.id = f.followee_id WHERE a.handle = $1 AND b.handle = $2)",
        )
        .bind(follower)
        .bind(followee)
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(kept, "acknowledged follow {follower} -> {followee} is gone");
    }
}

fn print_figures(what: &str, tally: &Tally, recovered: Duration) {
    println!(
        "{what}: {} requests, {} answered 503, {} sign-ups / {} uploads / {} follows acknowledged \
         and kept, served again {recovered:?} after the restart; by route and status: {:?}",
        tally.requests(),
        tally.unavailable(),
        tally.registered.len(),
        tally.uploads.len(),
        tally.follows.len(),
        tally.statuses
    );
}

#[tokio::test]
async fn a_postgres_restart_under_load_loses_no_acknowledged_write() {
    let backing = Backing::new().await;
    let pg = Arc::new(PrivatePostgres::start().await);
    let pool = PgPool::connect(&pg.url()).await.unwrap();
    ciel::infra::db::migrate(&pool).await.unwrap();
    let mut env = backing.env("api");
    env.insert("DATABASE_URL", pg.url());
    let app = TestApp::spawn(&backing, env).await;
    let members = members(&app, CLIENTS).await;
    let token = members[0].token.clone();

    let restarted = Arc::new(Mutex::new(Duration::ZERO));
    let (app, tally) = under_load(
        app,
        members,
        |app, tally| {
            let (pg, restarted) = (pg.clone(), restarted.clone());
            async move {
                pg.stop().await;
                // Down long enough for requests to give up waiting for a
                // connection (5 s), not only to queue behind the restart.
                eventually(
                    Duration::from_secs(30),
                    "a 503 while PostgreSQL is down",
                    || {
                        let tally = tally.clone();
                        async move { (tally.lock().await.unavailable() > 0).then_some(()) }
                    },
                )
                .await;
                pg.start_again().await;
                *restarted.lock().await = served_again(&app, &token).await;
            }
        },
        Duration::from_secs(3),
    )
    .await;

    let recovered = *restarted.lock().await;
    print_figures("postgres restart under load", &tally, recovered);
    assert!(tally.broken.is_empty(), "not a 503: {:?}", tally.broken);
    assert_acknowledged_writes_kept(&pool, &tally).await;
    assert!(recovered <= RECOVERY);
    drop(app);
}

#[tokio::test]
async fn a_redis_restart_under_load_keeps_sign_ins_reads_and_revocations() {
    let backing = Backing::new().await;
    let redis = PrivateRedis::start().await;
    let mut env = backing.env("api");
    env.insert("REDIS_URL", redis.url());
    let app = TestApp::spawn(&backing, env).await;
    let members = members(&app, CLIENTS).await;
    // A session signed out before the fault must stay signed out through it.
    let revoked = app.access_token(&unique("rv")).await;
    app.post("/v1/auth/logout", Some(&revoked), json!({}))
        .await
        .expect(StatusCode::NO_CONTENT, None);
    app.get("/v1/me", Some(&revoked))
        .await
        .expect(StatusCode::UNAUTHORIZED, None);

    let refused_while_down = Arc::new(Mutex::new(0usize));
    let seen = refused_while_down.clone();
    let (app, tally) = under_load(
        app,
        members,
        move |app, _| {
            let revoked = revoked.clone();
            async move {
                let mut redis = redis;
                // Killed: every connection drops and the keys are gone.
                let _ = redis.child.kill();
                let _ = redis.child.wait();
                let mut refused = 0;
                for _ in 0..20 {
                    let reply = app.get("/v1/me", Some(&revoked)).await;
                    reply.expect(StatusCode::UNAUTHORIZED, None);
                    refused += 1;
                }
                redis.restart().await;
                app.get("/v1/me", Some(&revoked))
                    .await
                    .expect(StatusCode::UNAUTHORIZED, None);
                *seen.lock().await = refused;
                drop(redis);
            }
        },
        Duration::from_secs(2),
    )
    .await;

    let refused = *refused_while_down.lock().await;
    print_figures("redis kill and restart under load", &tally, Duration::ZERO);
    assert_eq!(
        refused, 20,
        "the revoked session stayed out while Redis was down"
    );
    assert!(tally.broken.is_empty(), "not a 503: {:?}", tally.broken);
    // Redis is not required: sign-ins and reads never answered 503 for it.
    assert_eq!(tally.unavailable(), 0, "{:?}", tally.statuses);
    let signed_in_and_read = tally
        .statuses
        .iter()
        .filter(|((operation, _), _)| matches!(*operation, "login" | "me" | "feed"));
    for ((operation, status), n) in signed_in_and_read {
        assert_eq!(*status, 200, "{n} {operation} answered {status}");
    }
    let pool = backing.pool().await;
    assert_acknowledged_writes_kept(&pool, &tally).await;
    drop(app);
}
