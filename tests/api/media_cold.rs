//! Originals in a cold class (issue 30), against the real S3 server.
//!
//! What s3s-fs 0.14 (scripts/services.sh) does with storage classes, found by
//! trying it: a PUT with `x-amz-storage-class` other than STANDARD is refused
//! (`InvalidStorageClass`); a CopyObject with a class is accepted and the
//! class dropped (HEAD and LIST then name none, i.e. STANDARD); RestoreObject
//! and PutBucketLifecycleConfiguration answer `NotImplemented`; a GET always
//! answers the bytes. So these tests run the worker's move (the copy), a
//! read as an export makes it, reprocessing, and the recorded waits for a
//! restore and their checks, with the object readable. Only Scaleway can show
//! the other side: a GET of an archived original answering
//! `InvalidObjectState`, RestoreObject's 202 and HEAD's `x-amz-restore`
//! header while the restore runs (`src/infra/s3.rs` reads that header as S3
//! documents it, unit-tested there).

use crate::common::media::{DEADLINE, PHOTO, completed_photo, settled};
use crate::common::{Backing, TestApp, eventually, media_state, unique};
use ciel::infra::s3::{ObjectError, StorageClass};
use ciel::jobs::{Job, enqueue};
use ciel::media::originals::{self, Original, RestoreRound};
use sqlx::PgPool;
use uuid::Uuid;

async fn original_key(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT original_key FROM media WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The class the database records for the original, once the worker has
/// moved it (right after the photo became ready).
async fn moved_to_glacier(pool: &PgPool, id: Uuid) {
    eventually(DEADLINE, "the original to be moved", || async {
        let class = originals::class_of(pool, id).await.unwrap();
        (class == Some(StorageClass::Glacier)).then_some(())
    })
    .await;
}

/// Two ready photos of one user, processed by a dev-mode app.
async fn ready_photos(backing: &Backing) -> (TestApp, String, [Uuid; 2]) {
    let app = TestApp::spawn(backing, backing.env("dev")).await;
    let token = app.access_token(&unique("cold")).await;
    let a = completed_photo(&app, &token).await;
    let b = completed_photo(&app, &token).await;
    for id in [a, b] {
        assert_eq!(settled(&app, &token, id).await["status"], "ready");
    }
    (app, token, [a, b])
}

#[tokio::test]
async fn a_processed_original_moves_to_glacier_and_stays_readable() {
    let backing = Backing::new().await;
    let (_app, _token, [id, _]) = ready_photos(&backing).await;
    let pool = backing.pool().await;
    moved_to_glacier(&pool, id).await;
    // The move is a copy onto itself: the bytes and the type are the upload's.
    let key = original_key(&pool, id).await;
    assert_eq!(backing.storage().get(&key).await.unwrap(), PHOTO);
    let state = backing.storage().state_of(&key).await.unwrap();
    // s3s-fs drops the class; Scaleway would answer GLACIER here.
    assert!(state.readable(), "{state:?}");
}

#[tokio::test]
async fn reading_and_reprocessing_a_cold_original() {
    let backing = Backing::new().await;
    let (app, token, [id, _]) = ready_photos(&backing).await;
    let pool = backing.pool().await;
    moved_to_glacier(&pool, id).await;
    let storage = backing.storage();
    let key = original_key(&pool, id).await;

    // A read as a data export makes it: the bytes, nothing waits.
    let then = Job::Reprocess { media_id: id };
    match originals::read(&pool, &storage, id, &key, then)
        .await
        .unwrap()
    {
        Original::Bytes(bytes) => assert_eq!(bytes, PHOTO),
        other => panic!("expected the bytes, got {other:?}"),
    }
    let waits: i64 = sqlx::query_scalar("SELECT count(*) FROM media_original_restores")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(waits, 0);

    // Reprocessing writes the variants again under their keys; the photo
    // stays ready (and served) throughout.
    let thumb = format!("variants/{id}/thumb.webp");
    storage.delete(&thumb).await.unwrap();
    enqueue(&backing.queue(), Job::Reprocess { media_id: id })
        .await
        .unwrap();
    let recorded: i64 = sqlx::query_scalar(
        "SELECT bytes FROM media_variants WHERE media_id = $1 AND name = 'thumb' AND format = 'webp'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    eventually(DEADLINE, "the thumb to be derived again", || async {
        match storage.size_of(&thumb).await {
            Ok(size) => Some(size),
            Err(ObjectError::NotFound) => None,
            Err(e) => panic!("{e}"),
        }
    })
    .await;
    assert_eq!(storage.size_of(&thumb).await.unwrap(), recorded as u64);
    let media = app.get(&format!("/v1/media/{id}"), Some(&token)).await;
    assert_eq!(media.body["status"], "ready");
    assert_eq!(media.body["variants"].as_array().unwrap().len(), 2);
    assert_eq!(
        originals::class_of(&pool, id).await.unwrap(),
        Some(StorageClass::Glacier)
    );
}

#[tokio::test]
async fn a_job_waiting_for_a_restore_is_queued_again_once_the_original_is_readable() {
    let backing = Backing::new().await;
    let (app, _token, [waiting, gone]) = ready_photos(&backing).await;
    let pool = backing.pool().await;
    moved_to_glacier(&pool, waiting).await;
    moved_to_glacier(&pool, gone).await;
    // No process of ours looks at restores while the test does.
    app.stop().await;
    let storage = backing.storage();
    let queue = backing.queue();

    // What a read of an archived original records; its first look is
    // minutes away, so a round now leaves it alone.
    for id in [waiting, gone] {
        originals::record_restore(&pool, id, Job::Reprocess { media_id: id })
            .await
            .unwrap();
    }
    // Recording the same wait twice keeps one.
    originals::record_restore(&pool, waiting, Job::Reprocess { media_id: waiting })
        .await
        .unwrap();
    let round = originals::check_restores(&pool, &storage, &queue)
        .await
        .unwrap();
    assert_eq!(round, RestoreRound::default());
    let rows: Vec<(Uuid, i32)> =
        sqlx::query_as("SELECT media_id, checks FROM media_original_restores ORDER BY media_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut expected = vec![(waiting, 0), (gone, 0)];
    expected.sort();
    assert_eq!(rows, expected);

    // Due: the first waited longer. One original is readable, the other
    // is gone: both jobs are queued again (the job reports the missing one).
    sqlx::query(
        "UPDATE media_original_restores SET next_check_at = now() - make_interval(secs => $2)
         WHERE media_id = $1",
    )
    .bind(waiting)
    .bind(120.0)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE media_original_restores SET next_check_at = now() - make_interval(secs => 60)
         WHERE media_id = $1",
    )
    .bind(gone)
    .execute(&pool)
    .await
    .unwrap();
    let gone_key = original_key(&pool, gone).await;
    storage.delete(&gone_key).await.unwrap();
    let thumb = format!("variants/{waiting}/thumb.webp");
    storage.delete(&thumb).await.unwrap();
    let round = originals::check_restores(&pool, &storage, &queue)
        .await
        .unwrap();
    assert_eq!(round.waiting, 0);
    assert_eq!(round.queued.len(), 2, "{round:?}");
    for id in [waiting, gone] {
        assert!(round.queued.contains(&Job::Reprocess { media_id: id }));
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM media_original_restores")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);

    // A worker runs the queued jobs: the variant is back, and the photo
    // whose original is gone keeps its variants and stays ready.
    let _worker = TestApp::spawn(&backing, backing.env("worker")).await;
    eventually(DEADLINE, "the reprocessed thumb", || async {
        storage.size_of(&thumb).await.ok()
    })
    .await;
    for id in [waiting, gone] {
        assert_eq!(media_state(&backing, id).await.0, "ready");
    }
    assert!(
        storage
            .size_of(&format!("variants/{gone}/thumb.webp"))
            .await
            .is_ok()
    );
}
