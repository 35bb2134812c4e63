//! The moderation console (issue 29) driven end to end in Debian's Chromium,
//! headless, over WebDriver (chromedriver on a free loopback port): sign in
//! with the admin token, see a report with its photo, take the post down,
//! resolve a report into a strike, place a legal hold, reverse an appeal,
//! find, suspend and lift a user; every page's screenshot is kept in
//! `target/console-screenshots/`. The refusals (a wrong token, a form
//! without its CSRF token, no console without `ADMIN_TOKEN`) with a plain
//! HTTP client.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::social::{User, id_of, post, user};
use crate::common::{TestApp, free_port, system_tool, unique};
use crate::trust::{ADMIN, admin};

/// Text a report carries that would run, were it not escaped.
const HOSTILE: &str = "<script>document.title='owned'</script><img src=x onerror=alert(1)> spam";
/// And the reported post's caption.
const CAPTION: &str = "<b>sunset</b><script>document.title='caption'</script>";

async fn console_app() -> TestApp {
    TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
    })
    .await
}

/// A client that shows redirects instead of following them.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Chromedriver on a free loopback port, ended when dropped.
struct Chromedriver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl Chromedriver {
    async fn start() -> Option<Chromedriver> {
        let program = system_tool("chromedriver", "ensure_browser")?;
        let chromium = system_tool("chromium", "ensure_browser")?;
        let port = free_port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Chromedriver {
            child,
            port,
            chromium,
        };
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = reqwest::get(&status)
                .await
                .ok()
                .map(|r| r.status().is_success());
            if ready == Some(true) {
                return Some(driver);
            }
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn browser(&self) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1400"],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves the page as `target/console-screenshots/<name>.png`, a test artefact.
async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    assert!(
        png.len() > 1000 && png.starts_with(b"\x89PNG"),
        "{name}: not a PNG"
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The flash message the page after an action shows.
async fn flash(browser: &Client, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(element) = browser.find(Locator::Css("#flash")).await
            && let Ok(text) = element.text().await
            && text.contains(expected)
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no flash saying {expected:?} on {}",
            browser.current_url().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fills the reason of `form` (a CSS selector) and sends it.
async fn act(browser: &Client, form: &str, reason: &str) {
    type_in(browser, form, "reason", reason).await;
    click(browser, &format!("{form} button[type=submit]")).await;
}

/// Whether the browser drew the photo: it loaded through the presigned
/// URL, past the page's Content-Security-Policy.
async fn photo_drawn(browser: &Client, selector: &str) -> bool {
    let script = format!(
        "const img = document.querySelector({selector:?}); \
         return img !== null && img.complete && img.naturalWidth > 0;"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if browser.execute(&script, vec![]).await.unwrap() == json!(true) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts a real PNG where each of the post's variants is said to be.
async fn store_photos(app: &TestApp, pool: &PgPool, post: Uuid) {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT v.key FROM media_variants v JOIN post_media pm ON pm.media_id = v.media_id
          WHERE pm.post_id = $1",
    )
    .bind(post)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, 64, 48);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[180u8; 64 * 48 * 3]).unwrap();
    }
    let storage = app.backing.storage();
    for key in keys {
        storage
            .put(&key, png.clone(), "image/png", "no-cache")
            .await
            .unwrap();
    }
}

async fn report(
    app: &TestApp,
    by: &User,
    target: (&str, Uuid),
    category: &str,
    reason: &str,
) -> Uuid {
    let reply = app
        .post(
            "/v1/reports",
            by.token(),
            json!({ "target_type": target.0, "target_id": target.1, "category": category, "reason": reason }),
        )
        .await;
    reply.expect(StatusCode::CREATED, None);
    id_of(&reply.body)
}

/// Signs in with a plain client: the session cookie's `name=value`.
async fn session_cookie(app: &TestApp) -> String {
    let reply = plain_client()
        .post(app.url("/admin/login"))
        .form(&[("token", ADMIN), ("actor", "tester")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let set = reply.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    // Over plain HTTP on loopback only; see session::on_loopback_http.
    assert!(!set.contains("Secure"), "{set}");
    assert!(!set.contains(ADMIN), "the cookie never holds the token");
    set.split(';').next().unwrap().to_string()
}

/// The element `selector` finds on the page.
async fn element(browser: &Client, selector: &str) -> Element {
    browser.find(Locator::Css(selector)).await.expect(selector)
}

async fn text_of(browser: &Client, selector: &str) -> String {
    element(browser, selector).await.text().await.unwrap()
}

/// Types `value` into the field `name` of `form` (a CSS selector).
async fn type_in(browser: &Client, form: &str, name: &str, value: &str) {
    let field = element(browser, &format!("{form} [name={name}]")).await;
    field.send_keys(value).await.unwrap();
}

async fn choose(browser: &Client, select: &str, value: &str) {
    let select = element(browser, select).await;
    select.select_by_value(value).await.unwrap();
}

async fn click(browser: &Client, selector: &str) {
    element(browser, selector).await.click().await.unwrap();
}

async fn on_sign_in(browser: &Client) -> bool {
    let url = browser.current_url().await.unwrap();
    url.path().ends_with("/admin/login")
}

#[tokio::test]
async fn the_console_is_driven_end_to_end_in_chromium() {
    let Some(driver) = Chromedriver::start().await else {
        return;
    };
    let started = Instant::now();
    let app = console_app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let bob = user(&app, &unique("bob")).await;
    let photo = post(&app, &pool, &ana, CAPTION).await;
    let post_id = id_of(&photo);
    store_photos(&app, &pool, post_id).await;
    let post_report = report(&app, &bob, ("post", post_id), "spam", HOSTILE).await;
    let insults = "insults in the bio";
    let user_report = report(&app, &bob, ("user", ana.id), "harassment", insults).await;

    let browser = driver.browser().await;
    browser.goto(&app.url("/admin/reports")).await.unwrap();
    assert!(on_sign_in(&browser).await);
    screenshot(&browser, "login").await;
    type_in(&browser, "#login", "token", ADMIN).await;
    type_in(&browser, "#login", "actor", "ana.mod").await;
    click(&browser, "#login button").await;

    // The queue: the report, its hostile text inert, its photo drawn.
    let card = format!("#report-{post_report}");
    assert_eq!(
        text_of(&browser, &format!("{card} .report-text")).await,
        HOSTILE
    );
    let caption = text_of(&browser, &format!("{card} .target-text")).await;
    assert_eq!(caption, CAPTION);
    let author = text_of(&browser, &format!("{card} .target a")).await;
    assert_eq!(author, format!("@{}", ana.handle));
    let scripts = browser.execute("return document.scripts.length;", vec![]);
    assert_eq!(scripts.await.unwrap(), json!(0));
    assert_eq!(browser.title().await.unwrap(), "Ciel moderation · Reports");
    let photo = format!("{card} img.reported");
    assert!(photo_drawn(&browser, &photo).await);
    assert_eq!(
        text_of(&browser, ".who").await,
        "Signed in as admin:ana.mod"
    );
    screenshot(&browser, "reports").await;

    // Take the post down: gone for users; moderators still see the photo.
    act(&browser, &format!("{card} form.takedown"), "spam photo").await;
    flash(&browser, "taken down").await;
    let post_path = format!("/v1/posts/{post_id}");
    app.get(&post_path, bob.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    assert!(photo_drawn(&browser, &photo).await);
    let state = text_of(&browser, &format!("{card} .withdrawn")).await;
    assert_eq!(state, "taken down");
    assert!(
        browser
            .find(Locator::Css(&format!("{card} form.takedown")))
            .await
            .is_err()
    );
    screenshot(&browser, "takedown").await;

    // Uphold the report about the account: a strike, on record as ana.mod's.
    act(
        &browser,
        &format!("#report-{user_report} form.resolve"),
        "insults",
    )
    .await;
    flash(&browser, "a strike was given").await;
    let trust = format!("/v1/admin/users/{}/trust", ana.handle);
    let view = admin(&app, Method::GET, &trust, None).await;
    view.expect(StatusCode::OK, None);
    let actors: Vec<&str> = view.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["actor"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&"admin:ana.mod"), "{actors:?}");
    let strikes = view.body["strikes"].as_array().unwrap();
    assert_eq!(
        strikes.len(),
        2,
        "the takedown's and the report's: {strikes:?}"
    );

    // A legal hold on the post, from the holds page.
    browser.goto(&app.url("/admin/holds")).await.unwrap();
    choose(&browser, "#place-hold select[name=target_type]", "post").await;
    type_in(&browser, "#place-hold", "target_id", &post_id.to_string()).await;
    type_in(&browser, "#place-hold", "days", "30").await;
    act(&browser, "#place-hold", "preservation request 42").await;
    flash(&browser, "Legal hold placed").await;
    assert_eq!(
        text_of(&browser, "tr.hold .reason").await,
        "preservation request 42"
    );
    screenshot(&browser, "holds").await;
    let holds = admin(&app, Method::GET, "/v1/admin/holds", None).await;
    assert_eq!(holds.body["items"][0]["target_id"], post_id.to_string());
    assert_eq!(holds.body["items"][0]["placed_by"], "admin:ana.mod");

    // Ana appeals the takedown; reversing it brings the post back.
    let decisions = app.get("/v1/me/moderation-decisions", ana.token()).await;
    let takedown = decisions.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "post_takedown")
        .map(id_of)
        .expect("the takedown is stated");
    let path = format!("/v1/me/moderation-decisions/{takedown}/appeal");
    app.post(&path, ana.token(), json!({ "text": "It is my own photo." }))
        .await
        .expect(StatusCode::OK, None);
    browser.goto(&app.url("/admin/appeals")).await.unwrap();
    let appeal = format!("#appeal-{takedown}");
    let text = text_of(&browser, &format!("{appeal} .appeal-text")).await;
    assert_eq!(text, "It is my own photo.");
    screenshot(&browser, "appeals").await;
    choose(
        &browser,
        &format!("{appeal} select[name=outcome]"),
        "reversed",
    )
    .await;
    act(&browser, &format!("{appeal} form.answer"), "it is not spam").await;
    flash(&browser, "reversed").await;
    app.get(&post_path, bob.token())
        .await
        .expect(StatusCode::OK, None);

    // Find Ana by a prefix of her handle; suspend, then lift.
    browser.goto(&app.url("/admin/users")).await.unwrap();
    let prefix = &ana.handle[..ana.handle.len() - 3];
    type_in(&browser, "#search", "q", prefix).await;
    click(&browser, "#search button").await;
    let row = format!("#user-{}", ana.handle);
    let strikes = text_of(&browser, &format!("{row} .strikes")).await;
    assert_eq!(strikes, "1", "the takedown's was withdrawn");
    act(&browser, &format!("{row} form.suspend"), "ban evasion").await;
    flash(&browser, "suspended").await;
    let suspension = text_of(&browser, &format!("{row} .suspension")).await;
    assert!(suspension.starts_with("suspended since"), "{suspension}");
    app.get("/v1/me", ana.token())
        .await
        .expect(StatusCode::UNAUTHORIZED, None);
    screenshot(&browser, "users").await;
    act(&browser, &format!("{row} form.lift"), "mistake").await;
    flash(&browser, "suspension lifted").await;
    let suspension = text_of(&browser, &format!("{row} .suspension")).await;
    assert_eq!(suspension, "not suspended");

    // Signing out ends the browser's session.
    click(&browser, "form.logout button").await;
    browser.goto(&app.url("/admin/reports")).await.unwrap();
    assert!(on_sign_in(&browser).await);
    browser.close().await.unwrap();
    drop(driver);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(90),
        "the browser test took {took:?}"
    );
}

#[tokio::test]
async fn the_console_refuses_a_wrong_token_and_forms_without_their_csrf_token() {
    let app = console_app().await;
    let pool = app.backing.pool().await;
    let ana = user(&app, &unique("ana")).await;
    let photo = post(&app, &pool, &ana, "a photo").await;
    let post_id = id_of(&photo);
    let client = plain_client();

    // Signed out, every page leads to the sign-in.
    let page = client.get(app.url("/admin/reports")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/admin/login");

    let wrong = client
        .post(app.url("/admin/login"))
        .form(&[("token", "not-the-token"), ("actor", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    let bad_label = client
        .post(app.url("/admin/login"))
        .form(&[("token", ADMIN), ("actor", "<b>")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_label.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let cookie = session_cookie(&app).await;
    let page = client
        .get(app.url("/admin/reports"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing: {csp}");
    }
    assert!(
        csp.contains(&format!("img-src {}", crate::common::s3_endpoint())),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field")
        .to_string();

    // A takedown without the CSRF token, or with another's, is refused.
    let takedown = app.url(&format!("/admin/posts/{post_id}/takedown"));
    let other = session_cookie(&app).await;
    for (cookie, form) in [
        (&cookie, vec![("reason", "forged")]),
        (&cookie, vec![("reason", "forged"), ("csrf", "AAAA")]),
        (&other, vec![("reason", "forged"), ("csrf", csrf.as_str())]),
    ] {
        let refused = client
            .post(&takedown)
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("csrf_token_invalid"));
    }
    app.get(&format!("/v1/posts/{post_id}"), ana.token())
        .await
        .expect(StatusCode::OK, None);

    // With it, the same form takes the post down, and says so on the next page.
    let done = client
        .post(&takedown)
        .header("cookie", &cookie)
        .form(&[("reason", "spam"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/admin/reports");
    app.get(&format!("/v1/posts/{post_id}"), ana.token())
        .await
        .expect(StatusCode::NOT_FOUND, Some("post_not_found"));
    // A bad reason comes back as the next page's message, not as an error page.
    let refused = client
        .post(app.url("/admin/users/nobody_here/suspend"))
        .header("cookie", &cookie)
        .form(&[("reason", "  "), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let flash = refused.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let next = client
        .get(app.url("/admin/users"))
        .header(
            "cookie",
            format!("{cookie}; {}", flash.split(';').next().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert!(
        next.text()
            .await
            .unwrap()
            .contains("reason: must be 1 to 1000 characters")
    );
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_console() {
    let app = TestApp::api().await;
    for path in ["/admin/login", "/admin/reports"] {
        let reply = plain_client().get(app.url(path)).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let reply = plain_client()
        .post(app.url("/admin/login"))
        .form(&[("token", ""), ("actor", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_ins_are_limited_per_network() {
    let app = TestApp::api_with(|env| {
        env.insert("ADMIN_TOKEN", ADMIN.into());
        env.insert("RATE_LIMIT_LOGIN", "2/1m".into());
    })
    .await;
    let sign_in = |token: &'static str| {
        plain_client()
            .post(app.url("/admin/login"))
            .form(&[("token", token)])
            .send()
    };
    for _ in 0..2 {
        assert_eq!(
            sign_in("guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Past the quota even the right token waits: guessing costs the same.
    let limited = sign_in(ADMIN).await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().get("set-cookie").is_none());
    // The app's own sign-in counts apart.
    let reply = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "login": "nobody", "password": "x" }),
        )
        .await;
    assert_ne!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}
