//! What the instances run at boot, rendered and exercised (issue 15).
//!
//! [`render_boot`] renders every cloud-init template of the tree for every
//! environment and dev scenario with exactly the values the modules pass
//! (module inputs through the stack, locals, module outputs), standing in
//! made-up values for what only exists after an apply: keys and passwords
//! (all set to one `secret`, which the tests fill with awkward characters),
//! addresses, certificates, endpoints. The `check_*` functions then run the
//! real consumers on the renders: cloud-init's schema checker, shellcheck,
//! redis-server, and parsers of each place a secret lands in.
//!
//! A check that needs a missing tool reports it as a problem under `CI=true`
//! and is skipped (with a note on stderr) elsewhere.

use crate::checks::pitfalls::environment_cases;
use crate::*;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// One rendered cloud-init document.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The environment and scenario it was rendered for.
    pub case: String,
    /// `combined`, `api-1`, `worker` or `redis`.
    pub host: String,
    pub text: String,
}

impl Rendered {
    pub fn name(&self) -> String {
        format!("{} [{}]", self.case, self.host)
    }
}

/// What the renders name the bounce topic (`scaleway_mnq_sns_topic.arn`).
pub const FAKE_TOPIC_ARN: &str = "arn:scw:sns:fr-par:project-0000:ciel-mail-events";

/// Stand-ins for the attributes only an apply knows.
fn fake(secret: String) -> Unknowns {
    Box::new(move |address: &str| {
        let last = address.rsplit('.').next().unwrap_or_default();
        let v = match last {
            "private_ips" => Value::Array(vec![
                Value::Object([("address".to_string(), Value::from("fd5f:519:4d0b::2"))].into()),
                Value::Object([("address".to_string(), Value::from("172.16.0.7"))].into()),
            ]),
            "private_network" => Value::Array(vec![Value::Object(
                [
                    ("ip".to_string(), Value::from("172.16.0.9")),
                    ("port".to_string(), Value::from(5432)),
                ]
                .into(),
            )]),
            "certificate" => Value::from(
                "-----BEGIN CERTIFICATE-----\nMIIBfakeCERT\n-----END CERTIFICATE-----\n",
            ),
            "ip" => Value::from("172.16.0.9"),
            "port" => Value::from(5432),
            "push_url" => Value::from("https://0f1e.metrics.cockpit.fr-par.scw.cloud/api/v1/push"),
            "endpoint" if address.starts_with("scaleway_registry_namespace") => {
                Value::from("rg.fr-par.scw.cloud/ciel-test")
            }
            "endpoint" => Value::from("https://sqs.mnq.fr-par.scaleway.com"),
            "url" => Value::from("https://sqs.mnq.fr-par.scaleway.com/project/queue"),
            "name" => Value::from("ciel"),
            "arn" => Value::from(FAKE_TOPIC_ARN),
            "smtp_host" => Value::from("smtp.tem.scaleway.com"),
            "smtps_port" => Value::from(465),
            "smtps_port_alternative" => Value::from(2465),
            "smtps_auth_user" => Value::from("00000000-0000-0000-0000-000000000000"),
            "result" | "secret_key" | "access_key" | "base64" | "password" => {
                Value::from(secret.as_str())
            }
            _ => Value::from("made-up"),
        };
        Some(v)
    })
}

/// Renders every template for every environment and dev scenario.
pub fn render_boot(tf_root: &Path, secret: &str) -> Result<Vec<Rendered>, String> {
    let mut out: Vec<Rendered> = Vec::new();
    for (env_dir, tfvars) in environment_cases(tf_root) {
        for r in render_case(&env_dir, &tfvars, secret)? {
            if !out.iter().any(|o| o.text == r.text) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// The stack's `kubernetes_env` output (the Secret `ciel-env` of
/// deploy/k8s) in one environment, with the renders' stand-ins.
pub fn kubernetes_env(env_dir: &Path, tfvars: &[PathBuf], secret: &str) -> Result<Value, String> {
    Env::load(env_dir, tfvars)?
        .with_unknowns(fake(secret.to_string()))
        .module_output("stack", "kubernetes_env")
}

/// Renders every template of one environment with `tfvars` overlays.
pub fn render_case(
    env_dir: &Path,
    tfvars: &[PathBuf],
    secret: &str,
) -> Result<Vec<Rendered>, String> {
    let env = Env::load(env_dir, tfvars)?.with_unknowns(fake(secret.to_string()));
    let case = env.label.clone();
    let mut out = Vec::new();
    let mut push = |host: String, v: Value| -> Result<(), String> {
        match v {
            Value::String(text) => {
                out.push(Rendered {
                    case: case.clone(),
                    host,
                    text,
                });
                Ok(())
            }
            other => Err(format!(
                "{case}: {host}'s cloud-init is not a string: {other}"
            )),
        }
    };
    push(
        "combined".into(),
        env.module_local("compute", "combined_cloud_init")?,
    )?;
    if let Value::Array(apis) = env.module_local("compute", "api_cloud_init")? {
        for (i, api) in apis.into_iter().enumerate() {
            push(format!("api-{}", i + 1), api)?;
        }
    }
    push(
        "worker".into(),
        env.module_local("compute", "worker_cloud_init")?,
    )?;
    push(
        "redis".into(),
        env.module_local("cache", "redis_cloud_init")?,
    )?;
    Ok(out)
}

// ------------------------------------------------------------------- Tools

/// Whether `tool` runs; when it does not, a problem under `CI=true`, else
/// `Ok(false)` and a note (the check is skipped).
pub fn tool(tool: &str, args: &[&str]) -> Result<bool, String> {
    tool_in(std::env::var("CI").is_ok_and(|v| v == "true"), tool, args)
}

/// [`tool`], with whether this is CI given.
pub fn tool_in(ci: bool, tool: &str, args: &[&str]) -> Result<bool, String> {
    let found = Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Ok(true);
    }
    if ci {
        return Err(format!(
            "{tool} is missing (scripts/services.sh installs it); CI=true does not skip"
        ));
    }
    eprintln!("note: {tool} is missing, skipping its check (scripts/services.sh installs it)");
    Ok(false)
}

/// `Some(what the check returns)` when `tool` is missing: nothing (skipped)
/// or, under `CI=true`, the problem.
fn missing(name: &str) -> Option<Vec<String>> {
    match tool(name, &["--version"]) {
        Ok(true) => None,
        Ok(false) => Some(Vec::new()),
        Err(e) => Some(vec![e]),
    }
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Result<(bool, String), String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())
            .map_err(|e| e.to_string())?;
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tfcheck-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The render as JSON, read by PyYAML: the YAML loader cloud-init itself uses.
pub fn parse_yaml(text: &str) -> Result<Json, String> {
    let (ok, out) = run(
        Command::new("python3").args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ]),
        Some(text),
    )?;
    if !ok {
        return Err(format!("not YAML: {out}"));
    }
    serde_json::from_str(&out).map_err(|e| e.to_string())
}

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

// ------------------------------------------------------------------ Checks

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
    use std::os::unix::fs::{PermissionsExt, chown};
    let scratch = Scratch::new("redis");
    let dir = &scratch.0;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let file = dir.join("redis.conf");
    fs::write(&file, conf).map_err(|e| e.to_string())?;
    let mode = entry["permissions"]
        .as_str()
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        .unwrap_or(0o644);
    fs::set_permissions(&file, fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())?;
    // What the start script does to the file before Redis starts.
    let handed_to = scripts.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("chown ")?;
        let (owner, path) = rest.split_once(' ')?;
        (path.trim() == "/etc/ciel/redis.conf")
            .then(|| owner.split(':').next()?.parse::<u32>().ok())?
    });
    let am_root = unsafe_geteuid() == 0;
    if am_root {
        chown(&file, Some(handed_to.unwrap_or(0)), None).map_err(|e| e.to_string())?;
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
    let mut child = cmd.spawn().map_err(|e| format!("redis-server: {e}"))?;
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
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn unsafe_geteuid() -> u32 {
    // No libc dependency: the effective uid from /proc.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
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
                let secret_keys = [
                    "ADMIN_TOKEN",
                    "AWS_SECRET_ACCESS_KEY",
                    "QUEUE_SECRET_ACCESS_KEY",
                ];
                if secret_keys.contains(&key) && value != secret {
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
            for key in ["bearer_token", "\"X-Token\""] {
                let value = alloy
                    .lines()
                    .find_map(|l| l.split_once(key).map(|(_, v)| v))
                    .and_then(|v| v.trim_start().strip_prefix('='))
                    .and_then(|v| string_literal(v.trim_start()));
                if value.as_deref() != Some(secret) {
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
