//! One check per consumer of the renders; each returns the problems found.

use super::render::{Rendered, admin_token_stand_in, metrics_token_stand_in};
use super::tools::{Scratch, free_port, missing, parse_yaml, run, unsafe_geteuid};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// Each render with its YAML; one that does not parse is a problem.
fn parsed<'a>(renders: &'a [Rendered], errs: &mut Vec<String>) -> Vec<(&'a Rendered, Json)> {
    renders
        .iter()
        .filter_map(|r| match parse_yaml(&r.text) {
            Ok(doc) => Some((r, doc)),
            Err(e) => {
                errs.push(format!("{}: {e}", r.name()));
                None
            }
        })
        .collect()
}

/// The content of the file cloud-init writes at `path`, with its entry.
pub fn written_file(doc: &Json, path: &str) -> Option<(String, Json)> {
    doc["write_files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)
        .map(|f| {
            (
                f["content"].as_str().unwrap_or_default().to_string(),
                f.clone(),
            )
        })
}

/// Every render passes `cloud-init schema`.
pub fn check_cloud_init_schema(renders: &[Rendered]) -> Vec<String> {
    if let Some(skipped) = missing("cloud-init") {
        return skipped;
    }
    let scratch = Scratch::new("schema");
    let mut errs = Vec::new();
    for (i, r) in renders.iter().enumerate() {
        let file = scratch.0.join(format!("{i}.yaml"));
        fs::write(&file, &r.text).expect("write render");
        match run(
            Command::new("cloud-init")
                .args(["schema", "--config-file"])
                .arg(&file),
            None,
        ) {
            Ok((true, _)) => {}
            Ok((false, out)) => errs.push(format!("{}: cloud-init schema: {out}", r.name())),
            Err(e) => errs.push(e),
        }
    }
    errs
}

/// The shell that runs at boot: every script cloud-init writes (a
/// `#!/bin/sh` file) and the runcmd entries, through shellcheck.
pub fn check_shell(renders: &[Rendered]) -> Vec<String> {
    if let Some(skipped) = missing("shellcheck") {
        return skipped;
    }
    let mut errs = Vec::new();
    for (r, doc) in parsed(renders, &mut errs) {
        let mut scripts = Vec::new();
        for f in doc["write_files"].as_array().into_iter().flatten() {
            let content = f["content"].as_str().unwrap_or_default();
            if content.starts_with("#!/bin/sh") {
                scripts.push((
                    f["path"].as_str().unwrap_or("?").to_string(),
                    content.to_string(),
                ));
            }
        }
        let runcmd: Vec<String> = doc["runcmd"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| match c {
                Json::String(s) => s.clone(),
                Json::Array(words) => words
                    .iter()
                    .map(|w| shell_quote(w.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            })
            .collect();
        scripts.push((
            "runcmd".into(),
            format!("#!/bin/sh\n{}\n", runcmd.join("\n")),
        ));
        for (path, script) in scripts {
            match run(
                Command::new("shellcheck").args(["--shell=sh", "-"]),
                Some(&script),
            ) {
                Ok((true, _)) => {}
                Ok((false, out)) => errs.push(format!("{} {path}: shellcheck:\n{out}", r.name())),
                Err(e) => errs.push(e),
            }
        }
    }
    errs
}

fn shell_quote(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The uid the redis image runs as, and what the start scripts hand the
/// configuration to.
pub const REDIS_IMAGE_UID: u32 = 999;

/// Every rendered `redis.conf`, laid out as cloud-init writes it (mode from
/// the render, owner root) and handed over as the rendered start script does
/// (`chown <uid> /etc/ciel/redis.conf`), is loaded by a real redis-server
/// running as the image's uid: it starts, refuses clients without the
/// password, accepts `secret`, and has the rendered memory settings.
pub fn check_redis(renders: &[Rendered], secret: &str) -> Vec<String> {
    if let Some(skipped) = missing("redis-server") {
        return skipped;
    }
    let mut errs = Vec::new();
    let mut seen = 0;
    for (r, doc) in parsed(renders, &mut errs) {
        let Some((conf, entry)) = written_file(&doc, "/etc/ciel/redis.conf") else {
            continue;
        };
        seen += 1;
        let scripts: String = doc["write_files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["content"].as_str())
            .filter(|c| c.starts_with("#!/bin/sh"))
            .collect();
        if let Err(e) = run_redis(&conf, &entry, &scripts, secret) {
            errs.push(format!("{}: redis.conf: {e}", r.name()));
        }
    }
    if seen == 0 {
        errs.push("no render writes /etc/ciel/redis.conf".into());
    }
    errs
}

fn run_redis(conf: &str, entry: &Json, scripts: &str, secret: &str) -> Result<(), String> {
    // A free port can be taken by another test's server between the pick
    // and the bind: ours then exits, and the checks meet the other one (or
    // nobody). That is a lost race, not a verdict: try another port.
    let mut tries = 0;
    loop {
        tries += 1;
        match run_redis_once(conf, entry, scripts, secret) {
            Err((_, true)) if tries < 3 => continue,
            result => return result.map_err(|(e, _)| e),
        }
    }
}

/// One run; an error says whether our server had exited by itself.
fn run_redis_once(
    conf: &str,
    entry: &Json,
    scripts: &str,
    secret: &str,
) -> Result<(), (String, bool)> {
    use std::os::unix::fs::{PermissionsExt, chown};
    let no = |e: String| (e, false);
    let scratch = Scratch::new("redis");
    let dir = &scratch.0;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(|e| no(e.to_string()))?;
    let file = dir.join("redis.conf");
    fs::write(&file, conf).map_err(|e| no(e.to_string()))?;
    let mode = entry["permissions"]
        .as_str()
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        .unwrap_or(0o644);
    fs::set_permissions(&file, fs::Permissions::from_mode(mode)).map_err(|e| no(e.to_string()))?;
    // What the start script does to the file before Redis starts.
    let handed_to = scripts.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("chown ")?;
        let (owner, path) = rest.split_once(' ')?;
        (path.trim() == "/etc/ciel/redis.conf")
            .then(|| owner.split(':').next()?.parse::<u32>().ok())?
    });
    let am_root = unsafe_geteuid() == 0;
    if am_root {
        chown(&file, Some(handed_to.unwrap_or(0)), None).map_err(|e| no(e.to_string()))?;
    }
    let port = free_port();
    let mut cmd = if am_root {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={REDIS_IMAGE_UID}"),
            &format!("--regid={REDIS_IMAGE_UID}"),
            "--clear-groups",
            "redis-server",
        ]);
        c
    } else {
        Command::new("redis-server")
    };
    cmd.arg(&file)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .args(["--daemonize", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| no(format!("redis-server: {e}")))?;
    let result = (|| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut out = String::new();
                if let Some(mut e) = child.stdout.take() {
                    use std::io::Read as _;
                    let _ = e.read_to_string(&mut out);
                }
                return Err(format!("redis-server exited ({status}): {}", out.trim()));
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err("redis-server did not listen within 10 s".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let cli = |args: &[&str]| -> Result<String, String> {
            let (_, out) = run(
                Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "--no-auth-warning"])
                    .args(args),
                None,
            )?;
            Ok(out.trim().to_string())
        };
        let anonymous = cli(&["PING"])?;
        if !anonymous.contains("NOAUTH") {
            return Err(format!("PING without the password answered {anonymous:?}"));
        }
        let authed = cli(&["-a", secret, "PING"])?;
        if authed != "PONG" {
            return Err(format!("PING with the password answered {authed:?}"));
        }
        let policy = cli(&["-a", secret, "CONFIG", "GET", "maxmemory-policy"])?;
        if !policy.ends_with("volatile-lru") {
            return Err(format!("maxmemory-policy is {policy:?}, want volatile-lru"));
        }
        let want_mb: u64 = conf
            .lines()
            .find_map(|l| {
                l.strip_prefix("maxmemory ")?
                    .strip_suffix("mb")?
                    .parse()
                    .ok()
            })
            .ok_or("no maxmemory line")?;
        let max = cli(&["-a", secret, "CONFIG", "GET", "maxmemory"])?;
        if !max.ends_with(&(want_mb * 1024 * 1024).to_string()) {
            return Err(format!("maxmemory is {max:?}, want {want_mb} MB"));
        }
        let save = cli(&["-a", secret, "CONFIG", "GET", "save"])?;
        let aof = cli(&["-a", secret, "CONFIG", "GET", "appendonly"])?;
        if save.lines().nth(1).is_some_and(|v| !v.is_empty()) || !aof.ends_with("no") {
            return Err(format!(
                "persistence is on: save {save:?}, appendonly {aof:?}"
            ));
        }
        Ok(())
    })();
    let exited_by_itself = matches!(child.try_wait(), Ok(Some(_)));
    let _ = child.kill();
    let _ = child.wait();
    result.map_err(|e| (e, exited_by_itself))
}

/// Where a secret lands, each read back by its consumer's rules: the env
/// file (docker's `--env-file`: `KEY=VALUE`, taken literally), `REDIS_URL`
/// (a URL whose password is percent-decoded), Alloy's strings (quoted
/// strings with JSON-style escapes). Each must give back `secret` exactly.
pub fn check_secrets(renders: &[Rendered], secret: &str) -> Vec<String> {
    let mut errs = Vec::new();
    for (r, doc) in parsed(renders, &mut errs) {
        if let Some((env, _)) = written_file(&doc, "/etc/ciel/ciel.env") {
            for line in env.lines() {
                let Some((key, value)) = line.split_once('=') else {
                    errs.push(format!("{}: env file line without '=': {line:?}", r.name()));
                    continue;
                };
                let expected = match key {
                    "ADMIN_TOKEN" => Some(admin_token_stand_in(secret)),
                    "METRICS_TOKEN" => Some(metrics_token_stand_in(secret)),
                    "AWS_SECRET_ACCESS_KEY"
                    | "QUEUE_SECRET_ACCESS_KEY"
                    | "CDN_PURGE_SECRET_KEY" => Some(secret.to_string()),
                    _ => None,
                };
                if expected.is_some_and(|e| value != e) {
                    errs.push(format!("{}: {key} reads back as {value:?}", r.name()));
                }
                if ["REDIS_URL", "DATABASE_URL", "DATABASE_READ_URL"].contains(&key)
                    && !value.is_empty()
                {
                    match url_password(value) {
                        Some(p) if p == secret => {}
                        other => errs.push(format!(
                            "{}: {key}'s password reads back as {other:?}",
                            r.name()
                        )),
                    }
                }
            }
        }
        if let Some((alloy, _)) = written_file(&doc, "/etc/ciel/alloy.config") {
            let metrics_token = metrics_token_stand_in(secret);
            for (key, expected) in [
                ("bearer_token", metrics_token.as_str()),
                ("\"X-Token\"", secret),
            ] {
                let value = alloy_string(&alloy, key);
                if value.as_deref() != Some(expected) {
                    errs.push(format!(
                        "{}: Alloy's {key} reads back as {value:?}",
                        r.name()
                    ));
                }
            }
            let url = alloy
                .lines()
                .find_map(|l| l.trim().strip_prefix("url"))
                .and_then(|v| string_literal(v.trim_start().trim_start_matches('=').trim_start()));
            match url {
                Some(u)
                    if u.ends_with("/api/v1/push") && !u.ends_with("/api/v1/push/api/v1/push") => {}
                other => errs.push(format!("{}: Alloy pushes to {other:?}", r.name())),
            }
        }
    }
    errs
}

/// The string Alloy's configuration gives `key` (`key = "..."`), unescaped.
pub fn alloy_string(alloy: &str, key: &str) -> Option<String> {
    alloy
        .lines()
        .find_map(|l| l.split_once(key).map(|(_, v)| v))
        .and_then(|v| v.trim_start().strip_prefix('='))
        .and_then(|v| string_literal(v.trim_start()))
}

/// Who holds which token (issue 25, finding 12): ADMIN_TOKEN, the
/// moderation credential, is in the API's env file and nowhere else (no
/// worker's, no scraper's, no other file of any host); every app host has a
/// METRICS_TOKEN (its `/metrics` is closed in every mode); and the Alloy
/// agent scrapes with exactly the METRICS_TOKEN of the app it scrapes. The
/// renders give the two tokens distinct stand-ins, so a mix-up shows.
pub fn check_tokens(renders: &[Rendered], secret: &str) -> Vec<String> {
    let admin = admin_token_stand_in(secret);
    // The value as cloud-init's YAML or Alloy's strings may carry it.
    let admin_escaped = serde_json::to_string(&admin).expect("a string serializes");
    let admin_escaped = admin_escaped.trim_matches('"');
    let mut errs = Vec::new();
    let mut scrapers = 0;
    for (r, doc) in parsed(renders, &mut errs) {
        let env = written_file(&doc, "/etc/ciel/ciel.env").map(|(text, _)| env_file(&text));
        let mode = env
            .as_ref()
            .and_then(|e| e.get("APP_MODE").cloned())
            .unwrap_or_default();
        if let Some(env) = &env {
            if env.contains_key("ADMIN_TOKEN") && mode != "api" {
                errs.push(format!(
                    "{}: a {mode} host holds ADMIN_TOKEN, which is the API's alone",
                    r.name()
                ));
            }
            for (key, value) in env {
                if key != "ADMIN_TOKEN" && value.contains(&admin) {
                    errs.push(format!("{}: {key} holds ADMIN_TOKEN's value", r.name()));
                }
            }
            if env.get("METRICS_TOKEN").is_none_or(|t| t.is_empty()) {
                errs.push(format!(
                    "{}: the {mode} host has no METRICS_TOKEN (its /metrics would be open, or guarded by the admin token)",
                    r.name()
                ));
            }
        }
        for f in doc["write_files"].as_array().into_iter().flatten() {
            let path = f["path"].as_str().unwrap_or("?");
            let content = f["content"].as_str().unwrap_or_default();
            if path != "/etc/ciel/ciel.env"
                && (content.contains(&admin) || content.contains(admin_escaped))
            {
                errs.push(format!(
                    "{}: {path} holds ADMIN_TOKEN (only the API's env file may)",
                    r.name()
                ));
            }
        }
        if let Some((alloy, _)) = written_file(&doc, "/etc/ciel/alloy.config") {
            scrapers += 1;
            let bearer = alloy_string(&alloy, "bearer_token");
            let metrics = env.as_ref().and_then(|e| e.get("METRICS_TOKEN"));
            if bearer.is_none() || bearer.as_ref() != metrics {
                errs.push(format!(
                    "{}: Alloy's bearer token is not the METRICS_TOKEN of the app it scrapes",
                    r.name()
                ));
            }
            if bearer.as_deref() == Some(admin.as_str()) {
                errs.push(format!("{}: Alloy scrapes with ADMIN_TOKEN", r.name()));
            }
        }
    }
    if scrapers == 0 {
        errs.push("no render writes an Alloy configuration".into());
    }
    errs
}

/// The password of a `redis://user:password@host/` URL, percent-decoded.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.rsplit_once('@')?.0;
    if userinfo.contains('/') {
        return None;
    }
    let password = userinfo.split_once(':')?.1;
    let bytes = password.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b':' | b'@' | b'/' | b' ' => return None,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The leading double-quoted string literal of `text` (JSON escapes).
fn string_literal(text: &str) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(text).into_iter::<String>();
    de.next()?.ok()
}

/// `promtool check rules` and `promtool test rules` on the alert rules
/// (`namespace:`, mimirtool's, stripped) and their unit tests.
pub fn check_alert_rules(tf_root: &Path) -> Vec<String> {
    if let Some(skipped) = missing("promtool") {
        return skipped;
    }
    let dir = tf_root.join("modules/observability");
    let scratch = Scratch::new("rules");
    let rules = match fs::read_to_string(dir.join("alert-rules.yaml")) {
        Ok(t) => t,
        Err(e) => return vec![format!("alert-rules.yaml: {e}")],
    };
    let plain: String = rules
        .lines()
        .filter(|l| !l.starts_with("namespace:"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(scratch.0.join("alert-rules.yaml"), plain).expect("write rules");
    if let Err(e) = fs::copy(
        dir.join("alert-rules.test.yaml"),
        scratch.0.join("alert-rules.test.yaml"),
    ) {
        return vec![format!("alert-rules.test.yaml: {e}")];
    }
    let mut errs = Vec::new();
    for args in [
        ["check", "rules", "alert-rules.yaml"],
        ["test", "rules", "alert-rules.test.yaml"],
    ] {
        match run(
            Command::new("promtool").args(args).current_dir(&scratch.0),
            None,
        ) {
            Ok((true, _)) => {}
            Ok((false, out)) => errs.push(format!("promtool {}: {out}", args.join(" "))),
            Err(e) => errs.push(e),
        }
    }
    errs
}

/// The variables that name a file the app reads at start-up.
pub const FILE_VARS: &[&str] = &["REDIS_CA_CERT", "SNS_TRUST_CHAIN"];

/// The `KEY=VALUE` lines of a rendered env file.
pub fn env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `docker run` lines of the start scripts that run the app image, each
/// with the `-v SOURCE:TARGET[:ro]` mounts it gives the container.
pub fn app_runs(doc: &Json) -> Vec<(String, Vec<(String, String)>)> {
    let mut runs = Vec::new();
    for f in doc["write_files"].as_array().into_iter().flatten() {
        let content = f["content"].as_str().unwrap_or_default();
        if !content.starts_with("#!/bin/sh") {
            continue;
        }
        for line in content.lines().map(str::trim) {
            if !(line.starts_with("docker run") && line.contains("\"$image\"")) {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let mounts = words
                .windows(2)
                .filter(|w| w[0] == "-v")
                .filter_map(|w| {
                    let mut parts = w[1].split(':');
                    Some((parts.next()?.to_string(), parts.next()?.to_string()))
                })
                .collect();
            runs.push((line.to_string(), mounts));
        }
    }
    runs
}

/// Every file a variable of the env file names (`FILE_VARS`) is written by
/// cloud-init as a PEM and mounted at that path into every container of the
/// app image (the migration and the app), and every mount's source is a
/// file cloud-init writes.
pub fn check_mounts(renders: &[Rendered]) -> Vec<String> {
    let mut errs = Vec::new();
    for (r, doc) in parsed(renders, &mut errs) {
        let Some((env, _)) = written_file(&doc, "/etc/ciel/ciel.env") else {
            continue;
        };
        let env = env_file(&env);
        let runs = app_runs(&doc);
        if runs.is_empty() {
            errs.push(format!("{}: no docker run of the app image", r.name()));
        }
        for var in FILE_VARS {
            let Some(path) = env.get(*var).filter(|p| !p.is_empty()) else {
                continue;
            };
            match written_file(&doc, path) {
                Some((pem, _)) if pem.contains("-----BEGIN CERTIFICATE-----") => {}
                Some(_) => errs.push(format!("{}: {var}: {path} is not a PEM", r.name())),
                None => errs.push(format!(
                    "{}: {var} names {path}, which cloud-init does not write",
                    r.name()
                )),
            }
            for (line, mounts) in &runs {
                if !mounts.iter().any(|(s, t)| s == path && t == path) {
                    errs.push(format!(
                        "{}: {var}: {path} is not mounted into `{line}`",
                        r.name()
                    ));
                }
            }
        }
        for (line, mounts) in &runs {
            for (source, _) in mounts {
                if written_file(&doc, source).is_none() {
                    errs.push(format!(
                        "{}: `{line}` mounts {source}, which cloud-init does not write",
                        r.name()
                    ));
                }
            }
        }
    }
    errs
}
