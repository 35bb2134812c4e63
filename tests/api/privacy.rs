//! Private accounts and follow requests (issue 28): what each kind of
//! viewer sees of a locked account and of a public one, route by route, and
//! the request's life (asked, listed, accepted or rejected, withdrawn, and
//! accepted all at once by an unlock).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::social::{User, all_pages, id_of, patch, post, ready_media, user};
use crate::common::{TestApp, unique};

/// What a viewer gets from a read route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sees {
    /// 200 with this many items (for a list) or the object (`Sees::Items(1)`).
    Items(usize),
    /// This status and error code.
    Refused(u16, &'static str),
}

use Sees::{Items, Refused};

const PRIVATE: Sees = Refused(403, "account_private");

struct Viewers {
    stranger: User,
    follower: User,
    requester: User,
    blocked: User,
}

async fn follow(app: &TestApp, who: &User, whom: &User) -> StatusCode {
    app.post(
        &format!("/v1/users/{}/follow", whom.handle),
        who.token(),
        json!({}),
    )
    .await
    .status
}

async fn sees(app: &TestApp, path: &str, viewer: &User) -> Sees {
    let reply = app.get(path, viewer.token()).await;
    if reply.status != StatusCode::OK {
        return Refused(
            reply.status.as_u16(),
            match reply.code() {
                "account_private" => "account_private",
                "user_not_found" => "user_not_found",
                "post_not_found" => "post_not_found",
                "story_not_found" => "story_not_found",
                "highlight_not_found" => "highlight_not_found",
                other => panic!("{path}: unexpected code {other}"),
            },
        );
    }
    Items(match reply.body["items"].as_array() {
        Some(items) => items.len(),
        None => 1,
    })
}

/// An owner with a post (liked and commented on by their follower), a
/// story for followers and a highlight of it; the four viewers.
async fn world(app: &TestApp, locked: bool) -> (User, Viewers, Value, Value) {
    let pool = app.backing.pool().await;
    let owner = user(app, &unique("owner")).await;
    let viewers = Viewers {
        stranger: user(app, &unique("stranger")).await,
        follower: user(app, &unique("follower")).await,
        requester: user(app, &unique("requester")).await,
        blocked: user(app, &unique("blocked")).await,
    };
    assert_eq!(
        follow(app, &viewers.follower, &owner).await,
        StatusCode::NO_CONTENT
    );
    let post = post(app, &pool, &owner, "at the lake").await;
    let post_id = id_of(&post);
    app.post(
        &format!("/v1/posts/{post_id}/like"),
        viewers.follower.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/posts/{post_id}/comments"),
        viewers.follower.token(),
        json!({ "text": "lovely" }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    let media = ready_media(&pool, owner.id, 1).await[0];
    let story = app
        .post(
            "/v1/stories",
            owner.token(),
            json!({ "media_id": media, "audience": "followers" }),
        )
        .await;
    story.expect(StatusCode::CREATED, None);
    app.post(
        "/v1/me/highlights",
        owner.token(),
        json!({ "title": "Lake", "story_ids": [id_of(&story.body)] }),
    )
    .await
    .expect(StatusCode::CREATED, None);
    if locked {
        patch(app, "/v1/me", owner.token(), json!({ "locked": true }))
            .await
            .expect(StatusCode::OK, None);
        assert_eq!(
            follow(app, &viewers.requester, &owner).await,
            StatusCode::ACCEPTED
        );
    } else {
        // A public account that approves follows: a request, content public.
        patch(
            app,
            "/v1/me",
            owner.token(),
            json!({ "approves_follows": true }),
        )
        .await
        .expect(StatusCode::OK, None);
        assert_eq!(
            follow(app, &viewers.requester, &owner).await,
            StatusCode::ACCEPTED
        );
    }
    app.post(
        &format!("/v1/users/{}/block", viewers.blocked.handle),
        owner.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    (owner, viewers, post, story.body)
}

/// Every read route about the owner's content, with what the stranger, the
/// follower, the requester (not approved) and the blocked user see.
fn expectations(
    owner: &User,
    post: &Value,
    story: &Value,
    locked: bool,
) -> Vec<(String, [Sees; 4])> {
    let h = &owner.handle;
    let post = id_of(post);
    let story = id_of(story);
    let gone = Refused(404, "user_not_found");
    let no_post = Refused(404, "post_not_found");
    let no_story = Refused(404, "story_not_found");
    if locked {
        vec![
            (
                format!("/v1/users/{h}"),
                [Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/posts"),
                [PRIVATE, Items(1), PRIVATE, gone],
            ),
            (
                format!("/v1/users/{h}/followers"),
                [PRIVATE, Items(1), PRIVATE, gone],
            ),
            (
                format!("/v1/users/{h}/following"),
                [PRIVATE, Items(0), PRIVATE, gone],
            ),
            (
                format!("/v1/users/{h}/stories"),
                [PRIVATE, Items(1), PRIVATE, gone],
            ),
            (
                format!("/v1/users/{h}/highlights"),
                [PRIVATE, Items(1), PRIVATE, gone],
            ),
            (
                format!("/v1/posts/{post}"),
                [no_post, Items(1), no_post, no_post],
            ),
            (
                format!("/v1/posts/{post}/likes"),
                [no_post, Items(1), no_post, no_post],
            ),
            (
                format!("/v1/posts/{post}/comments"),
                [no_post, Items(1), no_post, no_post],
            ),
            (
                format!("/v1/stories/{story}"),
                [no_story, Items(1), no_story, no_story],
            ),
            (
                format!("/v1/search/users?q={h}"),
                [Items(1), Items(1), Items(1), Items(0)],
            ),
        ]
    } else {
        vec![
            (
                format!("/v1/users/{h}"),
                [Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/posts"),
                [Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/followers"),
                [Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/users/{h}/following"),
                [Items(0), Items(0), Items(0), gone],
            ),
            // Active stories are for followers; highlights for whoever sees posts.
            (
                format!("/v1/users/{h}/stories"),
                [Items(0), Items(1), Items(0), gone],
            ),
            (
                format!("/v1/users/{h}/highlights"),
                [Items(1), Items(1), Items(1), gone],
            ),
            (
                format!("/v1/posts/{post}"),
                [Items(1), Items(1), Items(1), no_post],
            ),
            (
                format!("/v1/posts/{post}/likes"),
                [Items(1), Items(1), Items(1), no_post],
            ),
            (
                format!("/v1/posts/{post}/comments"),
                [Items(1), Items(1), Items(1), no_post],
            ),
            (
                format!("/v1/stories/{story}"),
                [Items(1), Items(1), Items(1), no_story],
            ),
            (
                format!("/v1/search/users?q={h}"),
                [Items(1), Items(1), Items(1), Items(0)],
            ),
        ]
    }
}

async fn check_table(locked: bool) {
    let app = TestApp::api().await;
    let (owner, viewers, post, story) = world(&app, locked).await;
    let mut wrong = Vec::new();
    for (path, expected) in expectations(&owner, &post, &story, locked) {
        let who = [
            &viewers.stranger,
            &viewers.follower,
            &viewers.requester,
            &viewers.blocked,
        ];
        for (viewer, want) in ["stranger", "follower", "requester", "blocked"]
            .iter()
            .zip(expected)
        {
            let index = ["stranger", "follower", "requester", "blocked"]
                .iter()
                .position(|n| n == viewer)
                .unwrap();
            let got = sees(&app, &path, who[index]).await;
            if got != want {
                wrong.push(format!("{path} as {viewer}: got {got:?}, want {want:?}"));
            }
        }
    }
    // The home feed: the follower's has the post, nobody else's.
    for (viewer, count) in [
        (&viewers.follower, 1),
        (&viewers.stranger, 0),
        (&viewers.requester, 0),
    ] {
        let feed = all_pages(&app, "/v1/feed", viewer.token(), 20).await;
        if feed.len() != count {
            wrong.push(format!(
                "/v1/feed as {}: {} posts, want {count}",
                viewer.handle,
                feed.len()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_locked_account_shows_its_card_to_all_and_its_content_to_approved_followers() {
    check_table(true).await;
}

#[tokio::test]
async fn a_public_account_that_approves_follows_shows_its_content_to_all_but_the_blocked() {
    check_table(false).await;
}

#[tokio::test]
async fn a_follow_request_is_listed_accepted_rejected_withdrawn_and_unlocking_accepts_the_rest() {
    let app = TestApp::api().await;
    let owner = user(&app, &unique("owner")).await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let cid = user(&app, &unique("cid")).await;
    let dan = user(&app, &unique("dan")).await;
    patch(&app, "/v1/me", owner.token(), json!({ "locked": true }))
        .await
        .expect(StatusCode::OK, None);
    for who in [&ana, &bob, &cid, &dan] {
        assert_eq!(follow(&app, who, &owner).await, StatusCode::ACCEPTED);
    }
    let again = app
        .post(
            &format!("/v1/users/{}/follow", owner.handle),
            ana.token(),
            json!({}),
        )
        .await;
    again.expect(StatusCode::ACCEPTED, None);
    assert_eq!(again.body["state"], "requested");
    let profile = app
        .get(&format!("/v1/users/{}", owner.handle), ana.token())
        .await;
    assert_eq!(profile.body["locked"], true);
    assert_eq!(profile.body["follow_requested"], true);
    assert_eq!(profile.body["following"], false);

    let waiting = all_pages(&app, "/v1/me/follow-requests", owner.token(), 2).await;
    assert_eq!(waiting.len(), 4);
    let notes = all_pages(&app, "/v1/notifications", owner.token(), 20).await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["type"] == "follow_request")
            .count(),
        4
    );

    // Accepted: ana follows and is told; the request is gone.
    app.post(
        &format!("/v1/me/follow-requests/{}", ana.handle),
        owner.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    app.post(
        &format!("/v1/me/follow-requests/{}", ana.handle),
        owner.token(),
        json!({}),
    )
    .await
    .expect(StatusCode::NOT_FOUND, Some("follow_request_not_found"));
    let told = all_pages(&app, "/v1/notifications", ana.token(), 20).await;
    assert!(
        told.iter().any(|n| n["type"] == "follow_accepted"),
        "{told:?}"
    );
    app.get(&format!("/v1/users/{}/posts", owner.handle), ana.token())
        .await
        .expect(StatusCode::OK, None);
    // Rejected: bob is not told and can ask again.
    app.delete(
        &format!("/v1/me/follow-requests/{}", bob.handle),
        owner.token(),
    )
    .await
    .expect(StatusCode::NO_CONTENT, None);
    let bobs = all_pages(&app, "/v1/notifications", bob.token(), 20).await;
    assert!(bobs.is_empty(), "{bobs:?}");
    // Withdrawn: cid unfollows before an answer.
    app.delete(&format!("/v1/users/{}/follow", owner.handle), cid.token())
        .await
        .expect(StatusCode::NO_CONTENT, None);
    let waiting = all_pages(&app, "/v1/me/follow-requests", owner.token(), 20).await;
    assert_eq!(
        waiting
            .iter()
            .map(|c| c["handle"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![dan.handle.as_str()]
    );
    let notes = all_pages(&app, "/v1/notifications", owner.token(), 20).await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["type"] == "follow_request")
            .count(),
        1,
        "{notes:?}"
    );

    // Unlocking accepts what waits: dan follows.
    patch(&app, "/v1/me", owner.token(), json!({ "locked": false }))
        .await
        .expect(StatusCode::OK, None);
    let dans = app
        .get(&format!("/v1/users/{}", owner.handle), dan.token())
        .await;
    assert_eq!(dans.body["following"], true);
    assert_eq!(dans.body["follow_requested"], false);
    assert!(
        all_pages(&app, "/v1/me/follow-requests", owner.token(), 20)
            .await
            .is_empty()
    );
    let told = all_pages(&app, "/v1/notifications", dan.token(), 20).await;
    assert!(
        told.iter().any(|n| n["type"] == "follow_accepted"),
        "{told:?}"
    );
    // Now public: a follow is a follow.
    assert_eq!(follow(&app, &bob, &owner).await, StatusCode::NO_CONTENT);
    let _ = Method::GET;
}
