//! The deployment files, checked against the binary: the compose stack's
//! environments against the configuration code, the deploy workflow's jobs
//! and steps, the Dockerfile's runtime stage, and `ciel healthcheck` (the
//! image's HEALTHCHECK) as a process.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;
use std::sync::Mutex;

use crate::common::{Backing, TestApp};
use ciel::config::Config;
use yaml_serde::Value;

fn repo_file(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + path;
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn yaml(path: &str) -> Value {
    yaml_serde::from_str(&repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn str_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn list_of(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| items.iter().map(str_of).collect())
        .unwrap_or_default()
}

/// The variable names `.env.example` documents.
fn documented_variables() -> BTreeSet<String> {
    repo_file(".env.example")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, _)| name.trim().to_string())
        .collect()
}

/// Runs the configuration code on `env` and records every variable it
/// reads: what it needs is what it refuses to start without, what it reads
/// is what the mode can use at all.
struct Reading {
    read: BTreeSet<String>,
    result: Result<(), String>,
}

fn read_config(
    env: &BTreeMap<String, String>,
    load: impl Fn(&dyn Fn(&str) -> Option<String>) -> Result<(), String>,
) -> Reading {
    let read = Mutex::new(BTreeSet::new());
    let lookup = |var: &str| {
        read.lock().unwrap().insert(var.to_string());
        env.get(var).cloned()
    };
    let result = load(&lookup);
    Reading {
        read: read.into_inner().unwrap(),
        result,
    }
}

/// Variables the process reads outside the configuration code.
const READ_ELSEWHERE: &[&str] = &["RUST_LOG"];

#[test]
fn compose_services_are_complete_configurations_of_their_modes() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_mapping().expect("services");
    let documented = documented_variables();
    let mut seen_modes = BTreeSet::new();
    for (name, service) in services {
        let name = str_of(name);
        if service["image"].as_str() != Some("ciel:local") {
            continue;
        }
        let env: BTreeMap<String, String> = service["environment"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{name}: environment must be a map"))
            .iter()
            .map(|(k, v)| (str_of(k), str_of(v)))
            .collect();
        for var in env.keys() {
            assert!(
                documented.contains(var),
                "{name} sets {var}, which .env.example does not document"
            );
        }
        let command = list_of(&service["command"]);
        let (what, reading) = match command.first().map(String::as_str) {
            Some("migrate") => (
                "migrate".to_string(),
                read_config(&env, |lookup| {
                    Config::database_from_lookup(lookup)
                        .map(drop)
                        .map_err(|e| e.to_string())
                }),
            ),
            Some("trigger-bridge") => (
                "trigger-bridge".to_string(),
                read_config(&env, |lookup| {
                    Config::trigger_bridge_from_lookup(lookup)
                        .map(drop)
                        .map_err(|e| e.to_string())
                }),
            ),
            None => {
                let mode = env
                    .get("APP_MODE")
                    .unwrap_or_else(|| panic!("{name}: no command and no APP_MODE"));
                let reading = read_config(&env, |lookup| {
                    let config = Config::from_lookup(lookup).map_err(|e| e.to_string())?;
                    assert_eq!(config.mode.as_str(), mode);
                    Ok(())
                });
                (mode.clone(), reading)
            }
            Some(other) => panic!("{name}: unknown ciel command {other}"),
        };
        if let Err(e) = &reading.result {
            panic!("{name} ({what}) would not start: {e}");
        }
        for var in env.keys() {
            assert!(
                reading.read.contains(var) || READ_ELSEWHERE.contains(&var.as_str()),
                "{name} ({what}) sets {var}, which that mode never reads"
            );
        }
        seen_modes.insert(what);
    }
    let expected: BTreeSet<String> = ["migrate", "api", "serverless-worker", "trigger-bridge"]
        .map(String::from)
        .into();
    assert_eq!(seen_modes, expected, "the stack's ciel services");
}

#[test]
fn the_serverless_worker_gets_no_redis_queue_or_token_secrets() {
    let compose = yaml("compose.yaml");
    let worker = &compose["services"]["worker"]["environment"];
    assert_eq!(worker["APP_MODE"].as_str(), Some("serverless-worker"));
    for (var, _) in worker.as_mapping().unwrap() {
        let var = str_of(var);
        assert!(
            !(var.starts_with("REDIS") || var.starts_with("QUEUE_") || var.starts_with("PASETO")),
            "the serverless worker must not hold {var}"
        );
    }
    // The variables a serverless worker may not do without, derived from
    // the configuration code: each one missing stops it.
    let env: BTreeMap<String, String> = worker
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (str_of(k), str_of(v)))
        .collect();
    let needed: BTreeSet<&str> = env
        .keys()
        .filter(|var| {
            let mut without = env.clone();
            without.remove(*var);
            Config::from_lookup(|k| without.get(k).cloned()).is_err()
        })
        .map(String::as_str)
        .collect();
    assert!(needed.contains("DATABASE_URL") && needed.contains("S3_BUCKET"));
    assert!(
        !needed.contains("HTTP_ADDR"),
        "HTTP_ADDR has a default: {needed:?}"
    );
}

#[test]
fn compose_starts_in_order_with_health_checks_and_the_same_servers_as_scripts_dev() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_mapping().unwrap();
    let names: BTreeSet<String> = services.keys().map(str_of).collect();
    let one_shot = |service: &Value| service["restart"].as_str() == Some("no");
    for (name, service) in services {
        let name = str_of(name);
        if !one_shot(service) {
            let test = list_of(&service["healthcheck"]["test"]);
            assert!(!test.is_empty(), "{name} has no healthcheck");
        }
        if let Some(deps) = service["depends_on"].as_mapping() {
            for (dep, how) in deps {
                let dep = str_of(dep);
                assert!(names.contains(&dep), "{name} depends on unknown {dep}");
                let expected = if one_shot(&compose["services"][dep.as_str()]) {
                    "service_completed_successfully"
                } else {
                    "service_healthy"
                };
                assert_eq!(how["condition"].as_str(), Some(expected), "{name} -> {dep}");
            }
        }
        for port in list_of(&service["ports"]) {
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name} publishes {port} beyond loopback"
            );
        }
    }
    // Ordered start-up: the API and the worker wait for the migration and
    // the provisioning; the bridges for a healthy worker.
    for app in ["api", "worker"] {
        for dep in ["migrate", "provision"] {
            assert!(
                compose["services"][app]["depends_on"][dep].is_mapping(),
                "{app} waits for {dep}"
            );
        }
    }
    for bridge in ["trigger", "dead-letter-trigger"] {
        assert!(compose["services"][bridge]["depends_on"]["worker"].is_mapping());
    }
    assert_eq!(
        compose["services"]["trigger"]["environment"]["TRIGGER_URL"].as_str(),
        Some("http://worker:8080/")
    );
    assert_eq!(
        compose["services"]["dead-letter-trigger"]["environment"]["TRIGGER_URL"].as_str(),
        Some("http://worker:8080/dead-letters")
    );
    // Redis as on the combined instance: password and memory cap.
    let redis = list_of(&compose["services"]["redis"]["command"]);
    assert!(
        redis.contains(&"--requirepass".to_string()) && redis.contains(&"--maxmemory".to_string())
    );
    assert!(
        compose["services"]["postgres"]["image"]
            .as_str()
            .unwrap()
            .starts_with("postgres:16")
    );
    assert!(
        compose["services"]["redis"]["image"]
            .as_str()
            .unwrap()
            .starts_with("redis:7")
    );
    // The same S3 and SQS servers, at the same versions, as scripts/dev.
    let services_sh = repo_file("scripts/services.sh");
    let pinned = |var: &str| {
        services_sh
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{var}=")))
            .unwrap_or_else(|| panic!("{var} in scripts/services.sh"))
            .trim_matches('\'')
            .to_string()
    };
    let s3 = compose["services"]["s3"]["build"]["dockerfile_inline"]
        .as_str()
        .unwrap();
    assert!(s3.contains(&format!("s3s-fs@{}", pinned("S3S_FS_VERSION"))));
    let sqs = compose["services"]["sqs"]["build"]["dockerfile_inline"]
        .as_str()
        .unwrap();
    assert!(sqs.contains(&pinned("MOTO_SPEC")));
}

/// Account mail in the laptop stack: every service that sends it (the
/// worker; the API only queues it) sends to the Mailpit service, whose web
/// UI is published on loopback, so `docker compose up` delivers mail that
/// can be read.
#[test]
fn compose_sends_account_mail_to_mailpit() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_mapping().unwrap();
    let mailpit = &compose["services"]["mailpit"];
    let image = mailpit["image"].as_str().expect("a mailpit service");
    let tag = image
        .strip_prefix("axllent/mailpit:v")
        .unwrap_or_else(|| panic!("mailpit image {image}: axllent/mailpit pinned by version"));
    assert!(
        tag.split('.').count() == 3 && tag.split('.').all(|n| n.parse::<u32>().is_ok()),
        "mailpit image {image}: pinned to a release"
    );
    assert!(
        list_of(&mailpit["ports"]).contains(&"127.0.0.1:8025:8025".to_string()),
        "Mailpit's web UI on 127.0.0.1:8025"
    );
    let mut senders = Vec::new();
    for (name, service) in services {
        let name = str_of(name);
        if service["image"].as_str() != Some("ciel:local") || !service["command"].is_null() {
            continue;
        }
        let env: BTreeMap<String, String> = service["environment"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| (str_of(k), str_of(v)))
            .collect();
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let Some(mail) = config.mail else {
            assert!(!env.contains_key("SMTP_URL"), "{name} never sends mail");
            continue;
        };
        let smtp = mail
            .smtp_url
            .unwrap_or_else(|| panic!("{name} handles send_mail jobs but has no SMTP_URL"));
        // Mailpit takes SMTP on 1025, without TLS or a login.
        assert_eq!(smtp.expose(), "smtp://mailpit:1025", "{name}");
        assert_eq!(
            service["depends_on"]["mailpit"]["condition"].as_str(),
            Some("service_healthy"),
            "{name} starts once Mailpit answers"
        );
        // The links in the mails open the API compose publishes.
        assert!(
            mail.link_base_url.starts_with("http://127.0.0.1:8080/"),
            "{name}: links to {}",
            mail.link_base_url
        );
        senders.push(name);
    }
    assert_eq!(senders, ["worker"], "the services that send account mail");
}

/// Steps of a job by name, in order.
fn step_names(job: &Value) -> Vec<String> {
    job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            s["name"]
                .as_str()
                .or(s["uses"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

fn position(steps: &[String], needle: &str) -> usize {
    steps
        .iter()
        .position(|s| s.contains(needle))
        .unwrap_or_else(|| panic!("no step {needle:?} in {steps:?}"))
}

#[test]
fn the_deploy_workflow_goes_from_tests_to_a_rolled_deployment_in_order() {
    let workflow = yaml(".github/workflows/deploy.yml");
    let jobs = workflow["jobs"].as_mapping().unwrap();
    let needs = |job: &str| -> BTreeSet<String> {
        let needs = &workflow["jobs"][job]["needs"];
        match needs {
            Value::String(one) => [one.clone()].into(),
            other => list_of(other).into_iter().collect(),
        }
    };
    // Each stage starts only after the one before it succeeded.
    assert!(needs("test").is_empty());
    assert!(needs("image").contains("test"));
    assert!(needs("migrate").contains("image"));
    assert!(needs("terraform").contains("migrate"));
    assert!(needs("roll").contains("terraform"));
    assert_eq!(jobs.len(), 5, "test, image, migrate, terraform, roll");
    assert_eq!(
        workflow["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false)
    );
    assert_eq!(workflow["permissions"]["contents"].as_str(), Some("read"));
    assert_eq!(
        workflow["env"]["IMAGE_TAG"].as_str(),
        Some("${{ github.sha }}")
    );

    let test = step_names(&workflow["jobs"]["test"]);
    assert!(
        workflow["jobs"]["test"]["steps"][position(&test, "Tests")]["run"]
            .as_str()
            .unwrap()
            .contains("scripts/test")
    );

    let image = step_names(&workflow["jobs"]["image"]);
    let (login, build, push) = (
        position(&image, "Log in"),
        position(&image, "Build"),
        position(&image, "Push"),
    );
    assert!(login < build && build < position(&image, "Smoke") && position(&image, "Smoke") < push);
    let reference =
        workflow["jobs"]["image"]["steps"][position(&image, "Registry reference")]["run"]
            .as_str()
            .unwrap();
    assert!(reference.contains("registry_endpoint") && reference.contains("ciel:$IMAGE_TAG"));

    let migrate = &workflow["jobs"]["migrate"];
    let steps = step_names(migrate);
    let run = migrate["steps"][position(&steps, "ciel migrate")]["run"]
        .as_str()
        .unwrap();
    assert!(run.contains("migrate") && run.contains("$IMAGE"));

    let terraform = &workflow["jobs"]["terraform"];
    let steps = step_names(terraform);
    let plan = position(&steps, "plan");
    assert!(position(&steps, "init") < plan && plan < position(&steps, "apply"));
    assert!(
        terraform["steps"][plan]["run"]
            .as_str()
            .unwrap()
            .contains("image_tag=$IMAGE_TAG")
    );

    let roll = &workflow["jobs"]["roll"];
    let steps = step_names(roll);
    let run = roll["steps"][position(&steps, "Roll")]["run"]
        .as_str()
        .unwrap();
    assert!(run.starts_with("scripts/roll "));
}

#[test]
fn every_secret_the_workflow_uses_is_documented() {
    let workflow = repo_file(".github/workflows/deploy.yml");
    let operations = repo_file("docs/operations.md");
    let used: BTreeSet<&str> = workflow
        .match_indices("secrets.")
        .map(|(at, _)| {
            let rest = &workflow[at + "secrets.".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    assert!(used.contains("SCW_SECRET_KEY") && used.contains("SSH_PRIVATE_KEY"));
    for secret in used {
        assert!(
            operations.contains(&format!("`{secret}`")),
            "docs/operations.md does not document the secret {secret}"
        );
    }
    // Secrets go through env or stdin, never a command line or a log line.
    for line in workflow.lines() {
        if line.contains("secrets.") {
            let key = line.trim_start().split(':').next().unwrap();
            assert!(
                key.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "a secret outside an env entry: {line}"
            );
        }
    }
}

#[test]
fn the_roll_visits_app_instances_in_order_and_skips_the_bastion() {
    let state = r#"{"values":{"root_module":{"child_modules":[{"resources":[
        {"address":"w","type":"scaleway_instance_server","name":"worker","index":0,"values":{"private_ips":[{"address":"10.0.0.9"}]}},
        {"address":"a1","type":"scaleway_instance_server","name":"api","index":1,"values":{"private_ips":[{"address":"fd00::5"},{"address":"10.0.0.5"}]}},
        {"address":"a0","type":"scaleway_instance_server","name":"api","index":0,"values":{"private_ips":[{"address":"10.0.0.4"}]}},
        {"address":"b","type":"scaleway_instance_server","name":"bastion","index":0,"values":{"private_ips":[{"address":"10.0.0.2"}]}},
        {"address":"ip","type":"scaleway_instance_ip","name":"api","index":0,"values":{}}
    ]}]}}}"#;
    let mut child = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/roll"))
        .arg("--hosts")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("scripts/roll");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(state.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "api 10.0.0.4\napi 10.0.0.5\nworker 10.0.0.9\n"
    );
}

#[test]
fn the_image_runs_the_static_binary_as_a_non_root_user_with_its_own_health_check() {
    let dockerfile = repo_file("Dockerfile");
    let runtime = dockerfile
        .split("\nFROM scratch AS runtime\n")
        .nth(1)
        .expect("a FROM scratch runtime stage");
    for line in [
        "COPY --from=builder /rootfs/ /",
        "USER 10001:10001",
        "ENV APP_MODE=api",
        "HTTP_ADDR=0.0.0.0:8080",
        "CMD [\"/usr/local/bin/ciel\", \"healthcheck\"]",
        "ENTRYPOINT [\"/usr/local/bin/ciel\"]",
    ] {
        assert!(runtime.contains(line), "runtime stage lacks {line}");
    }
    // Dependencies are cooked before the sources are copied in.
    let cook = dockerfile.find("cargo chef cook").expect("cargo chef cook");
    let sources = dockerfile[cook..].find("COPY . .").map(|i| i + cook);
    let build = dockerfile.find("cargo build").expect("cargo build");
    assert!(sources.is_some_and(|s| cook < s && s < build));
    assert!(dockerfile.contains("target-feature=+crt-static"));
    assert!(dockerfile.contains("scripts/image-rootfs"));
    // HEIC/AVIF: the static libheif, linked through pkg-config.
    assert!(
        dockerfile.contains("heif-static /opt/heif") && dockerfile.contains("LIBHEIF_STATIC=1")
    );
    let ignore = repo_file(".dockerignore");
    for entry in ["target", ".git", ".local"] {
        assert!(
            ignore.lines().any(|l| l == entry),
            ".dockerignore lacks {entry}"
        );
    }
    let script = repo_file("scripts/image");
    assert!(script.contains("FROM scratch AS runtime") && script.contains("scripts/image-rootfs"));
}

fn healthcheck(http_addr: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ciel"))
        .arg("healthcheck")
        .env_clear()
        .env("HTTP_ADDR", http_addr)
        .output()
        .expect("run ciel healthcheck")
}

#[tokio::test]
async fn ciel_healthcheck_exits_0_only_when_health_answers() {
    let backing = Backing::new().await;
    let mut env: HashMap<&'static str, String> = backing.env("serverless-worker");
    let port = crate::common::free_port();
    // As in the image: listen on every address; the check goes to loopback.
    env.insert("HTTP_ADDR", format!("0.0.0.0:{port}"));
    let app = TestApp::spawn(&backing, env).await;
    let output = tokio::task::spawn_blocking(move || healthcheck(&format!("0.0.0.0:{port}")))
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    app.stop().await;

    let output = tokio::task::spawn_blocking(move || healthcheck(&format!("0.0.0.0:{port}")))
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unhealthy"));

    let output = tokio::task::spawn_blocking(|| healthcheck("nonsense"))
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HTTP_ADDR"), "{stderr}");
}

fn step_run<'a>(job: &'a Value, needle: &str) -> &'a str {
    let steps = step_names(job);
    job["steps"][position(&steps, needle)]["run"]
        .as_str()
        .unwrap_or_else(|| panic!("step {needle:?} has no run"))
}

#[test]
fn a_deploy_changes_the_image_only_with_or_without_a_bastion_and_on_kapsule() {
    let workflow = yaml(".github/workflows/deploy.yml");
    let environments =
        list_of(&workflow["on"]["workflow_dispatch"]["inputs"]["environment"]["options"]);
    assert_eq!(environments, ["dev", "staging", "prod"]);

    let migrate = &workflow["jobs"]["migrate"];
    let targets = step_run(migrate, "Deployment targets");
    // Null outputs are absent from the state: read with a default.
    assert!(targets.contains(".ssh_jump.value // empty"), "{targets}");
    assert!(!targets.contains("output -raw bastion"), "{targets}");
    assert!(
        targets.contains("has hosts but no SSH bastion"),
        "{targets}"
    );
    let steps = step_names(migrate);
    let k8s = position(&steps, "Kubernetes rollout");
    assert!(position(&steps, "Deployment targets") < k8s);
    assert_eq!(
        migrate["steps"][k8s]["if"].as_str(),
        Some("env.KUBERNETES == 'true'")
    );
    let rollout = step_run(migrate, "Kubernetes rollout");
    assert!(
        rollout.contains("deploy/k8s/rollout --secrets"),
        "{rollout}"
    );
    assert!(
        rollout.contains("ciel-registry") && rollout.contains("kubernetes.io/dockerconfigjson")
    );
    let migrate_step = &migrate["steps"][position(&steps, "ciel migrate")];
    assert_eq!(
        migrate_step["if"].as_str(),
        Some("env.KUBERNETES != 'true'")
    );
    assert!(
        migrate_step["run"]
            .as_str()
            .unwrap()
            .contains("-J \"$SSH_JUMP\"")
    );

    // The plan carries the new tag and refuses to replace a host.
    let plan = step_run(&workflow["jobs"]["terraform"], "plan");
    assert!(plan.contains("-var \"image_tag=$IMAGE_TAG\""), "{plan}");
    assert!(
        plan.contains("scaleway_instance_server") && plan.contains("delete"),
        "{plan}"
    );
    assert!(plan.contains("exit 1"), "{plan}");

    let roll = &workflow["jobs"]["roll"];
    let steps = step_names(roll);
    assert!(position(&steps, "Deployment targets") < position(&steps, "Roll"));
    assert!(step_run(roll, "Deployment targets").contains("LB_BACKEND="));
    // The image tag is immutable: the commit, never latest.
    assert_eq!(
        workflow["env"]["IMAGE_TAG"].as_str(),
        Some("${{ github.sha }}")
    );
    assert!(!repo_file(".github/workflows/deploy.yml").contains(":latest"));
}
