//! The reconciler finishes every photo whatever the queue does: a lost
//! message, a trigger that gave up, workers that died on every delivery.

use std::time::Duration;

use crate::common::media::{PHOTO, settled};
use crate::common::{Backing, MediaJobs, TestApp, media_state, queued_upload, unique};
use ciel::config::ReconcileConfig;
use ciel::media::reconcile::{self, Round};
use uuid::Uuid;

fn policy() -> ReconcileConfig {
    ReconcileConfig {
        stuck_after: Duration::from_secs(30 * 60),
        max_requeues: 3,
        every: Duration::from_secs(60),
    }
}

/// Makes a media look as if it had waited for its job since two hours ago.
async fn stuck_since_long(backing: &Backing, id: Uuid, status: &str, requeues: i32) {
    let pool = backing.pool().await;
    sqlx::query(
        "UPDATE media SET status = $2::media_status, requeues = $3,
                updated_at = now() - interval '2 hours' WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(requeues)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_photo_whose_message_was_lost_is_queued_again_and_processed() {
    let backing = Backing::new().await;
    let mut env = backing.env("api");
    env.insert("MEDIA_RECONCILE_EVERY_SECS", "1".into());
    let app = TestApp::spawn(&backing, env).await;
    let token = app.access_token(&unique("rc")).await;
    let (id, _lost) = queued_upload(&backing, &app, &token, PHOTO).await;
    stuck_since_long(&backing, id, "processing", 0).await;
    // Only the reconciler can bring this job back.
    let _worker = TestApp::spawn(&backing, backing.env("worker")).await;

    let media = settled(&app, &token, id).await;
    assert_eq!(media["status"], "ready", "{media}");
    let pool = backing.pool().await;
    let requeues: i32 = sqlx::query_scalar("SELECT requeues FROM media WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(requeues, 1);
}

#[tokio::test]
async fn a_photo_stuck_past_its_requeues_fails_and_a_recent_one_is_left_alone() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let token = api.access_token(&unique("rc")).await;
    let (given_up, _) = queued_upload(&backing, &api, &token, PHOTO).await;
    let (to_retry, _) = queued_upload(&backing, &api, &token, PHOTO).await;
    let (recent, _) = queued_upload(&backing, &api, &token, PHOTO).await;
    stuck_since_long(&backing, given_up, "processing", 3).await;
    stuck_since_long(&backing, to_retry, "queued", 2).await;

    let pool = backing.pool().await;
    let round = reconcile::run_once(&pool, &backing.queue(), &policy())
        .await
        .unwrap();
    assert_eq!(
        round,
        Some(Round {
            requeued: vec![to_retry],
            abandoned: 1
        })
    );
    assert_eq!(
        media_state(&backing, given_up).await,
        ("failed".into(), Some("processing_abandoned".into()))
    );
    assert_eq!(media_state(&backing, recent).await.0, "queued");
    // The requeued one has its message back on the queue.
    let messages = backing
        .queue()
        .receive_media(10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .unwrap();
    let bodies: Vec<_> = messages.iter().map(|m| m.body.clone()).collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains(&to_retry.to_string()), "{bodies:?}");
    // Its clock restarted: a second round does nothing.
    let again = reconcile::run_once(&pool, &backing.queue(), &policy())
        .await
        .unwrap();
    assert_eq!(again, Some(Round::default()));
}

#[tokio::test]
async fn only_one_instance_reconciles_at_a_time() {
    let backing = Backing::new().await;
    let api = TestApp::spawn(&backing, backing.env("api")).await;
    let token = api.access_token(&unique("rc")).await;
    let (id, _) = queued_upload(&backing, &api, &token, PHOTO).await;
    stuck_since_long(&backing, id, "queued", 0).await;

    let pool = backing.pool().await;
    let mut other = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(0x6369_656c_7265_636f_i64)
        .execute(&mut *other)
        .await
        .unwrap();
    let round = reconcile::run_once(&pool, &backing.queue(), &policy())
        .await
        .unwrap();
    assert_eq!(round, None, "another instance holds the lock");
    assert_eq!(media_state(&backing, id).await.0, "queued");
    other.rollback().await.unwrap();
    let round = reconcile::run_once(&pool, &backing.queue(), &policy())
        .await
        .unwrap();
    assert_eq!(round.map(|r| r.requeued), Some(vec![id]));
}
