//! Trust levels (issue 26): the background run promotes for real, strikes
//! demote and suspend for longer each time and the suspension lifts by
//! itself, each level's limits hold (and `GET /v1/me/trust` says what is
//! left), a new account's post reaches a bounded number of timelines, and
//! every admin decision is on record.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::social::{User, all_pages, id_of, ids, post, user};
use crate::common::{PASSWORD, Reply, TestApp, eventually, unique};

pub(crate) const ADMIN: &str = "moderator-secret-token";

async fn trust_app(
    tweak: impl FnOnce(&mut std::collections::HashMap<&'static str, String>),
) -> TestApp {
    TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
        env.remove("TRUST_LIMITS_NEW");
        env.insert("TRUST_EVERY_SECS", "1".into());
        tweak(env);
    })
    .await
}

/// An admin request, as `maria` says she is.
pub(crate) async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("X-Admin-Token", ADMIN)
        .header("X-Admin-Actor", "maria");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

async fn my_trust(app: &TestApp, who: &User) -> Value {
    let reply = app.get("/v1/me/trust", who.token()).await;
    reply.expect(StatusCode::OK, None);
    reply.body
}

fn limit<'a>(trust: &'a Value, action: &str) -> &'a Value {
    trust["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == action)
        .unwrap()
}

async fn verify_email(app: &TestApp, who: &User) {
    let pool = app.backing.pool().await;
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE id = $1")
        .bind(who.id)
        .execute(&pool)
        .await
        .unwrap();
}

pub(crate) async fn login(app: &TestApp, who: &User) -> Reply {
    app.post(
        "/v1/auth/login",
        None,
        json!({ "login": who.handle, "password": PASSWORD }),
    )
    .await
}

/// Waits until a run of the background job that started after `since` has
/// assessed `who` and finished: a run marks its batch when it starts, and
/// one instance runs one at a time, so the next mark ends the first run.
async fn a_run_after(app: &TestApp, who: &User, since: OffsetDateTime) {
    let pool = app.backing.pool().await;
    let marked_after = |since: OffsetDateTime| {
        let pool = pool.clone();
        move || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, Option<OffsetDateTime>>(
                    "SELECT trust_checked_at FROM users WHERE id = $1",
                )
                .bind(who.id)
                .fetch_one(&pool)
                .await
                .unwrap()
                .filter(|t| *t > since)
            }
        }
    };
    let started = eventually(Duration::from_secs(30), "a trust run", marked_after(since)).await;
    eventually(
        Duration::from_secs(30),
        "the next run",
        marked_after(started),
    )
    .await;
}

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

#[tokio::test]
async fn the_background_run_promotes_an_account_that_earned_it_and_a_strike_demotes_it() {
    let app = trust_app(|env| {
        env.insert("TRUST_TO_BASIC", "age=0s,posts=1,engagers=2".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bo = user(&app, &unique("bo")).await;
    let cy = user(&app, &unique("cy")).await;

    let trust = my_trust(&app, &ana).await;
    assert_eq!(trust["level"], "new");
    assert_eq!(trust["next"]["level"], "basic");
    let unmet: Vec<&str> = trust["next"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["met"] == false)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(unmet, ["verified_email", "posts", "engaged_users"]);
    assert!(
        trust.get("score").is_none() && trust["next"]["requirements"][2].get("have").is_none(),
        "the figures stay private: {trust}"
    );
    assert_eq!(limit(&trust, "invites")["quota"], 0);
    // A new account has not earned invites.
    app.post("/v1/invites", ana.token(), json!({}))
        .await
        .expect(StatusCode::FORBIDDEN, Some("invite_quota_exhausted"));

    let first = post(&app, &pool, &ana, "first light").await;
    verify_email(&app, &ana).await;
    // One engager is not enough: the run looks and leaves her at new.
    app.post(
        &format!("/v1/posts/{}/like", id_of(&first)),
        bo.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    // Her own like does not count.
    app.post(
        &format!("/v1/posts/{}/like", id_of(&first)),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    a_run_after(&app, &ana, OffsetDateTime::now_utc()).await;
    assert_eq!(my_trust(&app, &ana).await["level"], "new");

    app.post(
        &format!("/v1/posts/{}/comments", id_of(&first)),
        cy.token(),
        json!({ "text": "lovely" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let promoted = eventually(Duration::from_secs(30), "the promotion", || async {
        let trust = my_trust(&app, &ana).await;
        (trust["level"] == "basic").then_some(trust)
    })
    .await;
    assert_eq!(promoted["next"]["level"], "trusted");
    assert_eq!(limit(&promoted, "invites")["quota"], 2);
    app.post("/v1/invites", ana.token(), json!({}))
        .await
        .expect(StatusCode::CREATED, None);

    // A takedown is a strike: one level down at once, and no promotion
    // while it counts.
    admin(
        &app,
        Method::POST,
        &format!("/v1/admin/posts/{}/takedown", id_of(&first)),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let struck = my_trust(&app, &ana).await;
    assert_eq!(
        (struck["level"].clone(), struck["active_strikes"].clone()),
        (json!("new"), json!(1))
    );
    let second = post(&app, &pool, &ana, "second light").await;
    for fan in [&bo, &cy] {
        app.post(
            &format!("/v1/posts/{}/like", id_of(&second)),
            fan.token(),
            json!({}),
        )
        .await
        .expect(StatusCode::NO_CONTENT, None);
    }
    a_run_after(&app, &ana, OffsetDateTime::now_utc()).await;
    let trust = my_trust(&app, &ana).await;
    assert_eq!(trust["level"], "new");
    let strikes_met = trust["next"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "no_recent_strikes")
        .unwrap()["met"]
        .clone();
    assert_eq!(strikes_met, false);

    // The same takedown again is the same strike; its reversal withdraws it.
    admin(
        &app,
        Method::POST,
        &format!("/v1/admin/posts/{}/takedown", id_of(&first)),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(my_trust(&app, &ana).await["active_strikes"], 1);
    admin(
        &app,
        Method::DELETE,
        &format!("/v1/admin/posts/{}/takedown", id_of(&first)),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    assert_eq!(my_trust(&app, &ana).await["active_strikes"], 0);
    eventually(Duration::from_secs(30), "the promotion back", || async {
        (my_trust(&app, &ana).await["level"] == "basic").then_some(())
    })
    .await;

    let view = admin(
        &app,
        Method::GET,
        &format!("/v1/admin/users/{}/trust", ana.handle),
        None,
    )
    .await;
    view.expect(StatusCode::OK, None);
    let strikes = view.body["strikes"].as_array().unwrap();
    assert_eq!(strikes.len(), 1);
    assert_eq!(strikes[0]["kind"], "takedown");
    assert!(!strikes[0]["withdrawn_at"].is_null());
    let actions: Vec<(String, String)> = view.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().into(),
                a["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("withdraw_strike".to_string(), "admin:maria".to_string()),
            ("strike".to_string(), "admin:maria".to_string()),
        ]
    );
}

#[tokio::test]
async fn the_run_keeps_a_level_above_the_keeping_bar_and_takes_it_back_below() {
    let app = trust_app(|env| {
        env.insert("TRUST_TO_BASIC", "age=0s,posts=2,engagers=0".into());
        env.insert("TRUST_KEEP_PERCENT", "50".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    verify_email(&app, &ana).await;
    let first = id_of(&post(&app, &pool, &ana, "one").await);
    let second = id_of(&post(&app, &pool, &ana, "two").await);
    eventually(Duration::from_secs(30), "the promotion", || async {
        (my_trust(&app, &ana).await["level"] == "basic").then_some(())
    })
    .await;
    // One post of the two it took: kept (50 %).
    app.delete(&format!("/v1/posts/{second}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    a_run_after(&app, &ana, OffsetDateTime::now_utc()).await;
    assert_eq!(my_trust(&app, &ana).await["level"], "basic");
    // None: lost.
    app.delete(&format!("/v1/posts/{first}"), ana.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    eventually(Duration::from_secs(30), "the demotion", || async {
        (my_trust(&app, &ana).await["level"] == "new").then_some(())
    })
    .await;
}

#[tokio::test]
async fn strikes_past_the_threshold_suspend_longer_each_time_and_the_suspension_lifts_by_itself() {
    let app = trust_app(|env| {
        env.insert(
            "TRUST_STRIKES",
            "suspend_at=2,suspension=5s,longest=1h".into(),
        );
    })
    .await;
    let dan = user(&app, &unique("dan")).await;
    let mut reports = Vec::new();
    for i in 0..4 {
        let reporter = user(&app, &unique(&format!("rep{i}"))).await;
        let reply = app
            .post(
                "/v1/reports",
                reporter.token(),
                json!({ "target_type": "user", "target_id": dan.id, "reason": "spam" }),
            )
            .await;
        reply.expect(StatusCode::CREATED, None);
        reports.push(id_of(&reply.body));
    }
    let resolve = |report: uuid::Uuid, resolution: &'static str| {
        let path = format!("/v1/admin/reports/{report}/resolution");
        let app = &app;
        async move {
            let body = json!({ "resolution": resolution, "reason": "spam, as reported" });
            admin(app, Method::POST, &path, Some(body)).await
        }
    };

    let dismissed = resolve(reports[0], "dismissed").await;
    dismissed.expect(StatusCode::OK, None);
    assert!(dismissed.body["strike"].is_null());
    resolve(reports[0], "upheld")
        .await
        .expect(StatusCode::CONFLICT, Some("report_already_resolved"));
    resolve(uuid::Uuid::now_v7(), "upheld")
        .await
        .expect(StatusCode::NOT_FOUND, Some("report_not_found"));

    // The first strike: no suspension yet.
    let first = resolve(reports[1], "upheld").await;
    first.expect(StatusCode::OK, None);
    assert_eq!(first.body["strike"]["active_strikes"], 1);
    assert!(first.body["strike"]["suspended_until"].is_null());
    login(&app, &dan).await.expect(StatusCode::OK, None);

    // The second: suspended for 5 s, sessions ended.
    let second = resolve(reports[2], "upheld").await;
    second.expect(StatusCode::OK, None);
    assert!(!second.body["strike"]["suspended_until"].is_null());
    app.get("/v1/me", dan.token())
        .await
        .expect(StatusCode::UNAUTHORIZED, Some("session_revoked"));
    login(&app, &dan)
        .await
        .expect(StatusCode::FORBIDDEN, Some("account_suspended"));
    // ... lifted by the background run when it ends.
    eventually(
        Duration::from_secs(30),
        "the suspension to lift",
        || async { (login(&app, &dan).await.status == StatusCode::OK).then_some(()) },
    )
    .await;

    // The third: twice as long; an admin lifts it early.
    resolve(reports[3], "upheld")
        .await
        .expect(StatusCode::OK, None);
    login(&app, &dan)
        .await
        .expect(StatusCode::FORBIDDEN, Some("account_suspended"));
    let view = admin(
        &app,
        Method::GET,
        &format!("/v1/admin/users/{}/trust", dan.handle),
        None,
    )
    .await;
    view.expect(StatusCode::OK, None);
    let lengths: Vec<i64> = view.body["strikes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| match s["suspended_until"].is_null() {
            true => 0,
            false => (at(&s["suspended_until"]) - at(&s["created_at"])).whole_seconds(),
        })
        .collect();
    assert_eq!(lengths, [10, 5, 0], "newest first");
    let lift = |reason: &'static str| {
        let path = format!("/v1/admin/users/{}/lift-suspension", dan.handle);
        let app = &app;
        async move { admin(app, Method::POST, &path, Some(json!({ "reason": reason }))).await }
    };
    lift("   ")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let lifted = lift("appeal accepted").await;
    lifted.expect(StatusCode::OK, None);
    assert_eq!(lifted.body["lifted"], true);
    login(&app, &dan).await.expect(StatusCode::OK, None);
    assert_eq!(lift("again").await.body["lifted"], false);

    // Who, when, what and why: the strikes' consequences are the system's.
    let log = admin(&app, Method::GET, "/v1/admin/actions?limit=50", None).await;
    log.expect(StatusCode::OK, None);
    let entries: Vec<(String, String, String)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().into(),
                a["actor"].as_str().unwrap().into(),
                a["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("lift_suspension", "admin:maria", "appeal accepted"),
        ("auto_suspend", "system", "strikes past the threshold"),
        ("strike", "admin:maria", "spam, as reported"),
        ("resolve_report", "admin:maria", "spam, as reported"),
        ("auto_lift", "system", "the suspension ran its time"),
        ("auto_suspend", "system", "strikes past the threshold"),
        ("strike", "admin:maria", "spam, as reported"),
        ("resolve_report", "admin:maria", "spam, as reported"),
        ("strike", "admin:maria", "spam, as reported"),
        ("resolve_report", "admin:maria", "spam, as reported"),
        ("resolve_report", "admin:maria", "spam, as reported"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(entries, expected);
    for entry in log.body["items"].as_array().unwrap() {
        assert_eq!(entry["user_handle"], dan.handle.as_str());
        at(&entry["created_at"]);
    }
}

#[tokio::test]
async fn each_level_sets_its_limits_and_me_trust_says_what_is_left() {
    let app = trust_app(|env| {
        env.insert("TRUST_LIMITS_NEW", "follows=2".into());
        env.insert("TRUST_LIMITS_BASIC", "follows=4".into());
    })
    .await;
    let eve = user(&app, &unique("eve")).await;
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(user(&app, &unique(&format!("o{i}"))).await);
    }
    let follow = |who: &User| {
        let path = format!("/v1/users/{}/follow", who.handle);
        let (app, eve) = (&app, &eve);
        async move { app.post(&path, eve.token(), json!({})).await }
    };
    for other in &others[..2] {
        follow(other).await.expect(StatusCode::NO_CONTENT, None);
    }
    let trust = my_trust(&app, &eve).await;
    let follows = limit(&trust, "follows");
    assert_eq!(
        (
            follows["quota"].clone(),
            follows["remaining"].clone(),
            follows["window_secs"].clone()
        ),
        (json!(2), json!(0), json!(86400))
    );
    assert!(follows["resets_in_secs"].as_u64().unwrap() > 86_000);
    assert_eq!(limit(&trust, "likes")["remaining"], 100);
    assert!(limit(&trust, "likes")["resets_in_secs"].is_null());
    assert_eq!(trust["post_reach"], 100);
    let refused = follow(&others[2]).await;
    refused.expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));
    assert_eq!(refused.body["error"]["details"]["policy"], "trust_follows");
    assert!(refused.header("retry-after").is_some());

    // An admin's level: the window's count carries over (the refused
    // follow counted too), the quota is the level's.
    let bad_actor = app
        .client
        .put(app.url(&format!("/v1/admin/users/{}/trust", eve.handle)))
        .header("X-Admin-Token", ADMIN)
        .header("X-Admin-Actor", "not a label!")
        .json(&json!({ "level": "basic", "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_actor.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = admin(
        &app,
        Method::PUT,
        &format!("/v1/admin/users/{}/trust", eve.handle),
        Some(json!({ "level": "basic", "reason": "known to us" })),
    )
    .await;
    set.expect(StatusCode::OK, None);
    assert_eq!(
        (set.body["level"].clone(), set.body["pinned"].clone()),
        (json!("basic"), json!(true))
    );
    let pinned = my_trust(&app, &eve).await;
    assert_eq!(limit(&pinned, "follows")["remaining"], 1);
    assert_eq!(pinned["next"]["level"], "trusted");
    assert_eq!(
        (
            pinned["next"]["admin_only"].clone(),
            pinned["next"]["requirements"].clone()
        ),
        (json!(true), json!([])),
        "a level set by hand moves only by hand"
    );
    follow(&others[2])
        .await
        .expect(StatusCode::NO_CONTENT, None);
    follow(&others[3])
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"));

    // Verified is an admin's only, and the run leaves it alone.
    let verified = admin(
        &app,
        Method::PUT,
        &format!("/v1/admin/users/{}/trust", eve.handle),
        Some(json!({ "level": "verified", "pinned": false, "reason": "press" })),
    )
    .await;
    verified.expect(StatusCode::OK, None);
    assert_eq!(verified.body["pinned"], true, "verified is always pinned");
    // Another account's check proves a run went by.
    a_run_after(&app, &others[4], OffsetDateTime::now_utc()).await;
    let trust = my_trust(&app, &eve).await;
    assert_eq!(trust["level"], "verified");
    assert!(trust["next"].is_null());
    assert!(trust["post_reach"].is_null());

    let unknown = admin(
        &app,
        Method::PUT,
        "/v1/admin/users/nobody_here/trust",
        Some(json!({ "level": "basic", "reason": "x" })),
    )
    .await;
    unknown.expect(StatusCode::NOT_FOUND, Some("user_not_found"));
    let view = admin(
        &app,
        Method::GET,
        &format!("/v1/admin/users/{}/trust", eve.handle),
        None,
    )
    .await;
    let reasons: Vec<&str> = view.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["press", "known to us"]);
    assert_eq!(view.body["actions"][0]["details"]["from"], "basic");
    assert_eq!(view.body["actions"][0]["details"]["to"], "verified");

    // The older admin routes are on record too, with the reason given, if any.
    let path = format!("/v1/admin/users/{}/suspend?reason=spam%20wave", eve.handle);
    admin(&app, Method::POST, &path, None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let path = format!("/v1/admin/users/{}/unsuspend", eve.handle);
    admin(&app, Method::POST, &path, None)
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let path = format!("/v1/admin/users/{}/suspend?reason=%20", eve.handle);
    admin(&app, Method::POST, &path, None)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"));
    let path = format!("/v1/admin/users/{}/trust", eve.handle);
    let view = admin(&app, Method::GET, &path, None).await;
    let recent: Vec<(&str, &str)> = view.body["actions"].as_array().unwrap()[..2]
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        recent,
        [("unsuspend", "(no reason given)"), ("suspend", "spam wave")]
    );
}

#[tokio::test]
async fn simultaneous_verdicts_strike_once_per_offence_and_count_each_strike_once() {
    let app = trust_app(|env| {
        env.insert("TRUST_STRIKES", "suspend_at=2,suspension=1h".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let photo = id_of(&post(&app, &pool, &ana, "contested").await);
    let path = format!("/v1/admin/posts/{photo}/takedown?reason=at%20once");
    // More takedowns at once than the pool (5) has connections: a waiter
    // for the photo moves' lock holds none, so the holder is never starved.
    let replies =
        futures::future::join_all((0..8).map(|_| admin(&app, Method::POST, &path, None))).await;
    for reply in &replies {
        reply.expect(StatusCode::NO_CONTENT, None);
    }
    assert_eq!(
        my_trust(&app, &ana).await["active_strikes"],
        1,
        "one offence, one strike"
    );

    // Two reports about her upheld at once: two strikes, counted one after
    // the other (the second suspends, the third lengthens it).
    let mut reports = Vec::new();
    for i in 0..2 {
        let reporter = user(&app, &unique(&format!("rep{i}"))).await;
        let body = json!({ "target_type": "user", "target_id": ana.id, "reason": "spam" });
        let reply = app.post("/v1/reports", reporter.token(), body).await;
        reply.expect(StatusCode::CREATED, None);
        reports.push(id_of(&reply.body));
    }
    let verdicts = futures::future::join_all(reports.iter().map(|report| {
        let path = format!("/v1/admin/reports/{report}/resolution");
        let body = json!({ "resolution": "upheld", "reason": "spam" });
        let app = &app;
        async move { admin(app, Method::POST, &path, Some(body)).await }
    }))
    .await;
    let mut counts: Vec<u64> = verdicts
        .iter()
        .map(|v| {
            v.expect(StatusCode::OK, None);
            v.body["strike"]["active_strikes"].as_u64().unwrap()
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        [2, 3],
        "each verdict saw the other's strike or none"
    );
    let (strikes, suspensions): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM trust_strikes WHERE user_id = $1),
                (SELECT count(*) FROM admin_actions WHERE user_id = $1 AND action = 'auto_suspend')",
    )
    .bind(ana.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((strikes, suspensions), (3, 2));
    login(&app, &ana)
        .await
        .expect(StatusCode::FORBIDDEN, Some("account_suspended"));
}

#[tokio::test]
async fn a_new_accounts_post_reaches_a_bounded_number_of_timelines_at_once() {
    let app = trust_app(|env| {
        env.insert("TRUST_LIMITS_NEW", "fanout=1".into());
    })
    .await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let friend = user(&app, &unique("friend")).await;
    let stranger = user(&app, &unique("stranger")).await;
    for fan in [&stranger, &friend] {
        app.post(
            &format!("/v1/users/{}/follow", ana.handle),
            fan.token(),
            json!({}),
        )
        .await
        .expect(StatusCode::NO_CONTENT, None);
    }
    // Ana follows her friend back: mutual followers come first.
    app.post(
        &format!("/v1/users/{}/follow", friend.handle),
        ana.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    // Warm timelines (a read builds them).
    for fan in [&stranger, &friend] {
        assert!(
            all_pages(&app, "/v1/feed", fan.token(), 20)
                .await
                .is_empty()
        );
    }
    let early = id_of(&post(&app, &pool, &ana, "hello").await);
    assert_eq!(
        ids(&all_pages(&app, "/v1/feed", friend.token(), 20).await),
        [early]
    );
    assert!(
        all_pages(&app, "/v1/feed", stranger.token(), 20)
            .await
            .is_empty(),
        "past the reach, the timeline did not get it"
    );
    // On her profile, everyone sees it.
    let profile = all_pages(
        &app,
        &format!("/v1/users/{}/posts", ana.handle),
        stranger.token(),
        20,
    )
    .await;
    assert_eq!(ids(&profile), [early]);

    admin(
        &app,
        Method::PUT,
        &format!("/v1/admin/users/{}/trust", ana.handle),
        Some(json!({ "level": "basic", "reason": "fine" })),
    )
    .await
    .expect(StatusCode::OK, None);
    let later = id_of(&post(&app, &pool, &ana, "again").await);
    assert_eq!(
        ids(&all_pages(&app, "/v1/feed", stranger.token(), 20).await),
        [later]
    );
}

#[tokio::test]
async fn the_trust_routes_are_documented_with_their_errors() {
    let document = serde_json::to_value(ciel::http::openapi_document()).unwrap();
    let codes = |path: &str, method: &str, status: &str| -> Vec<String> {
        document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
            ["properties"]["error"]["allOf"][1]["properties"]["code"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} {status}"))
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    assert!(document["paths"]["/v1/me/trust"]["get"]["responses"]["200"].is_object());
    assert!(
        codes("/v1/admin/reports/{id}/resolution", "post", "409")
            .contains(&"report_already_resolved".into())
    );
    assert!(
        codes("/v1/admin/reports/{id}/resolution", "post", "404")
            .contains(&"report_not_found".into())
    );
    assert!(
        codes("/v1/admin/strikes/{id}/withdraw", "post", "404")
            .contains(&"strike_not_found".into())
    );
    assert!(
        codes("/v1/admin/users/{handle}/trust", "put", "422").contains(&"validation_failed".into())
    );
    assert!(codes("/v1/posts", "post", "429").contains(&"rate_limited".into()));
    assert!(codes("/v1/invites", "post", "403").contains(&"invite_quota_exhausted".into()));
    for path in [
        "/v1/admin/users/{handle}/lift-suspension",
        "/v1/admin/actions",
    ] {
        assert!(document["paths"][path].is_object(), "{path}");
    }
}
