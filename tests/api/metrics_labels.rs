//! Request metrics cannot be grown by clients: labels come from fixed sets.

use crate::common::TestApp;
use reqwest::Method;

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
];

fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + line[start..].find('"')?;
    Some(&line[start..end])
}

#[tokio::test]
async fn many_distinct_methods_and_paths_keep_the_series_bounded() {
    let app = TestApp::api().await;
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("http_request_duration_seconds_count{"))
            .map(str::to_owned)
            .collect()
    };
    let before = series(&app.metrics().await).len();
    for i in 0..150 {
        // a long made-up method on a real route (405), and on a made-up path
        let method = Method::from_bytes(format!("M{i}{}", "X".repeat(2000)).as_bytes()).unwrap();
        for path in ["/v1/me".to_string(), format!("/made-up/{i}")] {
            let status = app
                .client
                .request(method.clone(), app.url(&path))
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_client_error(), "{path}: {status}");
        }
        // a standard method on made-up paths
        app.client
            .get(app.url(&format!("/nothing/{i}")))
            .send()
            .await
            .unwrap();
    }
    let text = app.metrics().await;
    let after = series(&text);
    for line in &after {
        let method = label(line, "method").unwrap_or("<none>");
        assert!(METHODS.contains(&method), "method label {method:.40}…");
        let route = label(line, "route").unwrap_or("<none>");
        assert!(
            !route.contains("made-up") && !route.contains("nothing"),
            "route label {route} is a raw path, not a template"
        );
    }
    // 450 requests of new methods and paths add a handful of series at most
    assert!(
        after.len() <= before + 6,
        "{} series before, {} after",
        before,
        after.len()
    );
    assert!(text.len() < 1 << 20, "/metrics is {} bytes", text.len());
}
