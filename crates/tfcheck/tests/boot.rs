//! Issue 15: what the instances run at boot, rendered for every environment
//! and scenario and run through the real consumers (cloud-init's schema
//! checker, shellcheck, redis-server, promtool), and deliberately broken
//! templates that these tests catch.

mod common;

use common::*;
use std::path::Path;
use tfcheck::boot::*;
use tfcheck::*;

/// A secret with every character that broke a consumer once.
const NASTY: &str = "p$a\"ss w'o@r:d/#\\x";

fn renders(root: &Path) -> Vec<Rendered> {
    render_boot(root, NASTY).unwrap_or_else(|e| panic!("render: {e}"))
}

/// The real tree's renders, made once for all the tests that read them.
fn real() -> &'static [Rendered] {
    static RENDERS: std::sync::OnceLock<Vec<Rendered>> = std::sync::OnceLock::new();
    RENDERS.get_or_init(|| renders(&terraform_root()))
}

#[test]
fn every_template_renders_for_every_environment_and_scenario() {
    let r = real();
    let hosts: std::collections::BTreeSet<&str> = r
        .iter()
        .map(|r| r.host.split('-').next().unwrap())
        .collect();
    assert_eq!(
        hosts.into_iter().collect::<Vec<_>>(),
        ["api", "combined", "redis", "worker"]
    );
    // Dev's combined host runs Redis, migrates and pushes metrics.
    let dev = r
        .iter()
        .find(|r| r.case.ends_with("environments/dev") && r.host == "combined")
        .expect("dev's combined host");
    for needle in ["/etc/ciel/redis.conf", "migrate", "/etc/ciel/alloy.config"] {
        assert!(dev.text.contains(needle), "dev combined lacks {needle}");
    }
}

#[test]
fn renders_pass_cloud_inits_schema_check() {
    assert_clean("cloud-init schema", &check_cloud_init_schema(real()));
}

#[test]
fn boot_scripts_pass_shellcheck() {
    assert_clean("shellcheck", &check_shell(real()));
}

#[test]
fn rendered_redis_conf_runs_as_the_images_user() {
    assert_clean("redis-server", &check_redis(real(), NASTY));
}

#[test]
fn secrets_with_special_characters_reach_every_consumer_intact() {
    assert_clean("secrets", &check_secrets(real(), NASTY));
}

#[test]
fn the_admin_token_stays_with_the_api_and_alloy_scrapes_with_the_metrics_token() {
    assert_clean("tokens", &check_tokens(real(), NASTY));
}

#[test]
fn every_file_the_app_is_told_to_read_is_written_and_mounted() {
    assert_clean("mounts", &check_mounts(real()));
}

// ------------------------------------------------------------ Bounces

/// A secret every consumer of the rendered env takes as it is, including
/// the PASETO keys (base64 of 32 bytes).
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A CA made by the openssl CLI, standing in for Scaleway's
/// sns-trust-chain.pem (which cannot be downloaded here).
fn test_ca(dir: &Path) -> String {
    let key = dir.join("ca.key");
    let pem = dir.join("ca.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=Ciel test SNS CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(pem).unwrap()
}

/// The variables an operator sets to turn account mail and bounces on, as
/// a tfvars file in `dir`.
fn bounces_overlay(dir: &Path, pem: &str) -> std::path::PathBuf {
    let overlay = dir.join("bounces.tfvars");
    std::fs::write(
        &overlay,
        format!(
            "dns_zone = \"example.com\"\nenable_mail = true\nenable_mail_bounces = true\nmail_sns_trust_chain_pem = {}\n",
            serde_json::to_string(pem).unwrap()
        ),
    )
    .unwrap();
    overlay
}

/// Stands in for a PEM where only its shape matters.
const SOME_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/// The API behind the load balancer (bounces need its HTTPS), with account
/// mail and bounces on as an operator's variables turn them on: scenario 3,
/// and scenario 8, whose API hosts also get the managed Redis's CA.
fn bounce_renders(scratch: &Path, pem: &str) -> Vec<Rendered> {
    let overlay = bounces_overlay(scratch, pem);
    let dev = terraform_root().join("environments/dev");
    let mut out = Vec::new();
    for scenario in [
        "03-load-balancer-multi-api.tfvars",
        "08-production-ready.tfvars",
    ] {
        let tfvars = [dev.join("scenarios").join(scenario), overlay.clone()];
        out.extend(render_case(&dev, &tfvars, KEY).unwrap());
    }
    out
}

/// What the host holds once cloud-init ran: every written file under
/// `root`, and the env file with each FILE_VARS path seen through the mount.
fn materialise(doc: &serde_json::Value, root: &Path) -> std::collections::BTreeMap<String, String> {
    for f in doc["write_files"].as_array().unwrap() {
        let path = root.join(f["path"].as_str().unwrap().trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, f["content"].as_str().unwrap()).unwrap();
    }
    let (env, _) = written_file(doc, "/etc/ciel/ciel.env").unwrap();
    let mut env = env_file(&env);
    for var in FILE_VARS {
        if let Some(p) = env.get_mut(*var) {
            *p = root.join(p.trim_start_matches('/')).display().to_string();
        }
    }
    env
}

#[test]
fn the_trust_chain_lands_on_every_api_host_and_the_api_starts_with_it() {
    if !tool("openssl", &["version"]).unwrap() {
        return;
    }
    let scratch = Scratch::new("bounces");
    let pem = test_ca(&scratch.0);
    let renders = bounce_renders(&scratch.0, &pem);
    assert_clean("mounts", &check_mounts(&renders));
    assert_clean("cloud-init schema", &check_cloud_init_schema(&renders));
    assert_clean("shellcheck", &check_shell(&renders));

    let mut api_hosts = 0;
    for r in &renders {
        let doc = parse_yaml(&r.text).unwrap();
        let Some((env, _)) = written_file(&doc, "/etc/ciel/ciel.env") else {
            continue;
        };
        let env = env_file(&env);
        if env["APP_MODE"] != "api" {
            assert!(
                !env.contains_key("SNS_TOPIC_ARN")
                    && written_file(&doc, "/etc/ciel/sns-trust-chain.pem").is_none(),
                "{}: a worker gets the bounce settings",
                r.name()
            );
            continue;
        }
        api_hosts += 1;
        assert_eq!(env["SNS_TOPIC_ARN"], FAKE_TOPIC_ARN, "{}", r.name());
        let path = &env["SNS_TRUST_CHAIN"];
        let (written, entry) = written_file(&doc, path)
            .unwrap_or_else(|| panic!("{}: {path} is not written", r.name()));
        assert_eq!(written, pem, "{}: the PEM changed on its way", r.name());
        assert_eq!(entry["permissions"], "0644", "{}", r.name());

        // The API's start-up, on the host's files: the configuration code,
        // then the verifier Application::build makes from it.
        let host = Scratch::new("host");
        let mut env = materialise(&doc, &host.0);
        // The renders give every generated key the one stand-in secret; the
        // app wants its two PASETO keys distinct, as the secrets module makes them.
        assert_eq!(env["PASETO_REFRESH_KEY"], KEY);
        env.insert(
            "PASETO_REFRESH_KEY".into(),
            "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=".into(),
        );
        let config = ciel::config::Config::from_lookup(|v| env.get(v).cloned())
            .unwrap_or_else(|e| panic!("{}: the API does not start: {e}", r.name()));
        let events = config.api.unwrap().mail_events.expect("bounces configured");
        assert_eq!(events.topic_arn, FAKE_TOPIC_ARN);
        assert_eq!(events.trust_chain_pem, pem.as_bytes());
        // No prefix set by Terraform: the API's own default.
        assert_eq!(
            events.cert_url_prefix,
            ciel::config::DEFAULT_SNS_CERT_URL_PREFIX
        );
        ciel::mail::bounces::SnsVerifier::new(
            events.topic_arn,
            &events.trust_chain_pem,
            events.cert_url_prefix,
        )
        .unwrap_or_else(|e| panic!("{}: the API rejects the trust chain: {e}", r.name()));

        // Without the file the API refuses to start, naming the variable.
        std::fs::remove_file(&env["SNS_TRUST_CHAIN"]).unwrap();
        let err = ciel::config::Config::from_lookup(|v| env.get(v).cloned()).unwrap_err();
        assert_eq!(err.var, "SNS_TRUST_CHAIN");
    }
    // The two API instances of each scenario.
    assert!(api_hosts >= 4, "{api_hosts} API hosts rendered");
}

/// Every app host of every environment and scenario, started as it
/// boots: its rendered env file (and the files it names) loaded by the
/// binary's configuration code. A variable the app requires in a
/// configuration Terraform can produce but does not supply (CDN_PIPELINE_ID
/// with the CDN, say) is a host that would not start. Also: who gets the
/// variables added after the seed (`LATER_ENV_MAPPING`), the tokens each
/// host really guards /metrics with, and the CDN's purge settings.
fn start_every_host(root: &Path) -> (Vec<String>, [usize; 3]) {
    let mut errs = Vec::new();
    // API hosts with the CDN, API hosts without, worker hosts.
    let mut seen = [0; 3];
    for (env_dir, tfvars) in tfcheck::checks::pitfalls::environment_cases(root) {
        let renders = match render_case(&env_dir, &tfvars, KEY) {
            Ok(r) => r,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        // The combined host's render exists whether or not the host does
        // (scenario 9 turns it off, and its Redis with it).
        let combined = Env::load(&env_dir, &tfvars)
            .and_then(|env| env.module_input("compute", "enable_combined_mode"));
        for r in renders {
            if r.host == "combined" && combined != Ok(Value::from(true)) {
                continue;
            }
            let doc = parse_yaml(&r.text).unwrap();
            if written_file(&doc, "/etc/ciel/ciel.env").is_none() {
                continue;
            }
            let host = Scratch::new("start");
            let mut env = materialise(&doc, &host.0);
            let mode = env["APP_MODE"].clone();
            let cdn = mode == "api" && env.get("S3_PUBLIC_ENDPOINT").is_some_and(|e| !e.is_empty());
            seen[if mode != "api" {
                2
            } else if cdn {
                0
            } else {
                1
            }] += 1;
            for (var, used_by) in LATER_ENV_MAPPING {
                let wanted = match *used_by {
                    "API only" => mode == "api",
                    "Both" => true,
                    "API with CDN" => cdn,
                    other => panic!("{var}: unknown holder {other}"),
                };
                if env.contains_key(*var) != wanted {
                    errs.push(format!(
                        "{}: {var} ({used_by}) is {} the {mode} host's env",
                        r.name(),
                        if wanted { "missing from" } else { "in" }
                    ));
                }
            }
            // The renders give every generated key the one stand-in; the app
            // wants its two PASETO keys distinct, as the secrets module makes them.
            if mode == "api" {
                env.insert(
                    "PASETO_REFRESH_KEY".into(),
                    "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=".into(),
                );
            }
            let config = match ciel::config::Config::from_lookup(|v| env.get(v).cloned()) {
                Ok(c) => c,
                Err(e) => {
                    errs.push(format!("{}: the {mode} host does not start: {e}", r.name()));
                    continue;
                }
            };
            if config.metrics_token.as_ref().map(|t| t.expose().as_str())
                != Some(metrics_token_stand_in(KEY).as_str())
            {
                errs.push(format!(
                    "{}: the {mode} host's /metrics is not guarded by METRICS_TOKEN",
                    r.name()
                ));
            }
            if let Some(api) = config.api {
                match (cdn, api.cdn_purge) {
                    (true, Some(purge)) => {
                        if purge.pipeline_id != FAKE_PIPELINE_ID || purge.secret_key.expose() != KEY
                        {
                            errs.push(format!(
                                "{}: the API purges pipeline {:?} with another key than the storage module's",
                                r.name(),
                                purge.pipeline_id
                            ));
                        }
                        if purge.api_url != ciel::config::DEFAULT_CDN_PURGE_API_URL {
                            errs.push(format!("{}: purges sent to {}", r.name(), purge.api_url));
                        }
                    }
                    (false, None) => {}
                    (cdn, purge) => errs.push(format!(
                        "{}: CDN {cdn}, purge settings {:?}",
                        r.name(),
                        purge.map(|p| p.pipeline_id)
                    )),
                }
            }
        }
    }
    (errs, seen)
}

#[test]
fn every_host_starts_with_what_terraform_renders_for_it() {
    let (errs, [with_cdn, without_cdn, workers]) = start_every_host(&terraform_root());
    assert_clean("start", &errs);
    // Scenarios 7 and 8 (and prod) turn the CDN on; dev has none; scenario 8
    // and prod run worker instances... or at least render one.
    assert!(
        with_cdn >= 2 && without_cdn >= 2 && workers >= 1,
        "API hosts with the CDN {with_cdn}, without {without_cdn}, workers {workers}"
    );
}

#[test]
fn catches_an_api_with_the_cdn_and_no_purge_settings() {
    let t = BrokenTree::new();
    t.replace(
        "modules/compute/main.tf",
        "    var.enable_cdn ? { CDN_PIPELINE_ID = var.cdn_pipeline_id, CDN_PURGE_SECRET_KEY = var.cdn_purge_secret_key } : {},\n",
        "",
    );
    let (errs, _) = start_every_host(&t.root);
    assert_caught(
        "start",
        &errs,
        &[
            "07-enable-cdn",
            "[combined]",
            "does not start",
            "CDN_PIPELINE_ID",
        ],
    );
    assert_caught(
        "start",
        &errs,
        &["CDN_PURGE_SECRET_KEY (API with CDN) is missing"],
    );
}

#[test]
fn catches_the_admin_token_where_the_metrics_token_belongs() {
    let t = BrokenTree::new();
    // The hosts' Alloy given the admin token to scrape with.
    t.replace(
        "modules/compute/main.tf",
        "    metrics_token       = var.metrics_token\n",
        "    metrics_token       = var.admin_token\n",
    );
    // A worker given the admin token in place of its metrics token.
    t.replace(
        "modules/compute/main.tf",
        "    METRICS_TOKEN = var.metrics_token\n",
        "    ADMIN_TOKEN = var.admin_token\n",
    );
    let renders = renders(&t.root);
    let errs = check_tokens(&renders, NASTY);
    assert_caught(
        "tokens",
        &errs,
        &["[combined]", "Alloy scrapes with ADMIN_TOKEN"],
    );
    assert_caught(
        "tokens",
        &errs,
        &["[combined]", "/etc/ciel/alloy.config holds ADMIN_TOKEN"],
    );
    assert_caught(
        "tokens",
        &errs,
        &["[worker]", "a worker host holds ADMIN_TOKEN"],
    );
    assert_caught("tokens", &errs, &["[worker]", "has no METRICS_TOKEN"]);
    assert_caught(
        "secrets",
        &check_secrets(&renders, NASTY),
        &["Alloy's bearer_token reads back as"],
    );
    let (errs, _) = start_every_host(&t.root);
    assert_caught(
        "start",
        &errs,
        &[
            "[worker]",
            "ADMIN_TOKEN (API only) is in the worker host's env",
        ],
    );
    assert_caught(
        "start",
        &errs,
        &["[worker]", "not guarded by METRICS_TOKEN"],
    );
}

#[test]
fn workers_get_a_complete_smtp_configuration() {
    let scratch = Scratch::new("smtp");
    let renders = bounce_renders(&scratch.0, SOME_PEM);
    let worker = renders
        .iter()
        .find(|r| r.host == "worker")
        .expect("a worker render");
    let doc = parse_yaml(&worker.text).unwrap();
    let host = Scratch::new("worker");
    let env = materialise(&doc, &host.0);
    let smtp = &env["SMTP_URL"];
    assert!(
        smtp.starts_with("smtps://") && smtp.ends_with("@smtp.tem.scaleway.com:2465"),
        "SMTP_URL {smtp:?}: TEM's TLS port that Scaleway does not block (2465)"
    );
    let config = ciel::config::Config::from_lookup(|v| env.get(v).cloned())
        .unwrap_or_else(|e| panic!("the worker does not start: {e}"));
    let mail = config.mail.expect("workers send mail");
    assert_eq!(mail.smtp_url.unwrap().expose(), smtp);
    assert_eq!(mail.from.to_string(), "Ciel <no-reply@mail.example.com>");
}

/// Scenario 9's Secret evaluates in every environment and scenario it is
/// on in (Terraform's coalesce fails when every argument is null or empty),
/// and with bounces on carries the topic and the trust chain.
#[test]
fn the_kubernetes_secret_evaluates_and_carries_the_bounce_settings() {
    let root = terraform_root();
    let mut on = 0;
    for (env_dir, tfvars) in tfcheck::checks::pitfalls::environment_cases(&root) {
        match kubernetes_env(&env_dir, &tfvars, KEY) {
            Ok(Value::Null) => {}
            Ok(Value::Object(secret)) => {
                on += 1;
                assert_eq!(secret["SNS_TOPIC_ARN"], Value::from(""), "bounces are off");
            }
            other => panic!(
                "{} {tfvars:?}: kubernetes_env is {other:?}",
                env_dir.display()
            ),
        }
    }
    assert!(on >= 1, "no environment or scenario turns Kapsule on");

    let scratch = Scratch::new("k8s-bounces");
    let overlay = bounces_overlay(&scratch.0, SOME_PEM);
    // Scenario 9 over scenario 8, as the migration runs it: the LB serves
    // the bounces' HTTPS.
    let dev = root.join("environments/dev");
    let tfvars = [
        dev.join("scenarios/08-production-ready.tfvars"),
        dev.join("scenarios/09-kubernetes.tfvars"),
        overlay,
    ];
    let Value::Object(secret) = kubernetes_env(&dev, &tfvars, KEY).unwrap() else {
        panic!("scenario 9 has no Secret");
    };
    assert_eq!(secret["SNS_TOPIC_ARN"], Value::from(FAKE_TOPIC_ARN));
    assert_eq!(secret["SNS_TRUST_CHAIN_PEM"], Value::from(SOME_PEM));
    assert_eq!(secret["SNS_CERT_URL_PREFIX"], Value::from(""));
    assert_eq!(
        secret["MAIL_FROM"],
        Value::from("Ciel <no-reply@mail.example.com>")
    );
    assert_eq!(
        secret["APP_LINK_BASE_URL"],
        Value::from("https://api.example.com/app")
    );
    assert!(
        secret["SMTP_URL"]
            .as_str()
            .is_some_and(|u| u.ends_with("@smtp.tem.scaleway.com:2465")),
        "{:?}",
        secret["SMTP_URL"]
    );
}

#[test]
fn catches_a_coalesce_that_fails_without_a_value() {
    let t = BrokenTree::new();
    t.replace(
        "stack/outputs.tf",
        "REDIS_CA_PEM = module.cache.redis_ca_cert == null ? \"\" : module.cache.redis_ca_cert",
        "REDIS_CA_PEM = coalesce(module.cache.redis_ca_cert, \"\")",
    );
    let dev = t.root.join("environments/dev");
    let err = kubernetes_env(&dev, &[dev.join("scenarios/09-kubernetes.tfvars")], KEY).unwrap_err();
    assert!(err.contains("coalesce"), "{err}");
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    assert_clean("promtool", &check_alert_rules(&terraform_root()));
}

/// Under CI a missing tool is a failure, never a skip.
#[test]
fn a_missing_tool_fails_under_ci_and_is_skipped_elsewhere() {
    let err = tool_in(true, "ciel-no-such-tool", &["--version"]).unwrap_err();
    assert!(err.contains("ciel-no-such-tool is missing"), "{err}");
    assert_eq!(
        tool_in(false, "ciel-no-such-tool", &["--version"]),
        Ok(false)
    );
    assert_eq!(tool_in(true, "sh", &["-c", "true"]), Ok(true));
}

// ------------------------------------------------------ Broken templates

#[test]
fn catches_a_redis_conf_the_images_user_cannot_read() {
    if !tool("redis-server", &["--version"]).unwrap() {
        return;
    }
    let t = BrokenTree::new();
    t.replace(
        "modules/compute/templates/app-cloud-init.yaml.tftpl",
        "      chown 999 /etc/ciel/redis.conf\n",
        "",
    );
    assert_caught(
        "redis-server",
        &check_redis(&renders(&t.root), NASTY),
        &["redis.conf", "Permission denied"],
    );
}

#[test]
fn catches_a_doubled_push_path() {
    let t = BrokenTree::new();
    t.replace(
        "modules/compute/templates/app-cloud-init.yaml.tftpl",
        "\"    url     = ${jsonencode(metrics_push_url)}\",",
        "\"    url     = ${jsonencode(\"${metrics_push_url}/api/v1/push\")}\",",
    );
    assert_caught(
        "secrets",
        &check_secrets(&renders(&t.root), NASTY),
        &["Alloy pushes to", "/api/v1/push/api/v1/push"],
    );
}

#[test]
fn catches_an_unescaped_secret() {
    let t = BrokenTree::new();
    t.replace(
        "modules/compute/templates/app-cloud-init.yaml.tftpl",
        "\"  bearer_token    = ${jsonencode(metrics_token)}\",",
        "\"  bearer_token    = \\\"${metrics_token}\\\"\",",
    );
    t.replace(
        "modules/compute/main.tf",
        "redis://:${urlencode(var.redis_password)}@redis:6379/",
        "redis://:${var.redis_password}@redis:6379/",
    );
    let errs = check_secrets(&renders(&t.root), NASTY);
    assert_caught("secrets", &errs, &["Alloy's bearer_token reads back as"]);
    assert_caught("secrets", &errs, &["REDIS_URL's password reads back as"]);
}

#[test]
fn catches_an_unquoted_requirepass() {
    if !tool("redis-server", &["--version"]).unwrap() {
        return;
    }
    let t = BrokenTree::new();
    t.replace(
        "modules/cache/templates/redis-cloud-init.yaml.tftpl",
        "\"requirepass \\\"${replace(replace(redis_password, \"\\\\\", \"\\\\\\\\\"), \"\\\"\", \"\\\\\\\"\")}\\\"\",",
        "\"requirepass ${redis_password}\",",
    );
    assert_caught(
        "redis-server",
        &check_redis(&renders(&t.root), NASTY),
        &["[redis]", "redis.conf", "redis-server exited"],
    );
}

#[test]
fn catches_a_template_cloud_init_rejects() {
    if !tool("cloud-init", &["--version"]).unwrap() {
        return;
    }
    let t = BrokenTree::new();
    t.replace(
        "modules/cache/templates/redis-cloud-init.yaml.tftpl",
        "runcmd:\n",
        "runcmd: 42\nbootcmd_typo:\n",
    );
    assert_caught(
        "cloud-init schema",
        &check_cloud_init_schema(&renders(&t.root)),
        &["[redis]", "cloud-init schema"],
    );
}

#[test]
fn catches_a_start_script_shellcheck_rejects() {
    if !tool("shellcheck", &["--version"]).unwrap() {
        return;
    }
    let t = BrokenTree::new();
    t.replace(
        "modules/compute/templates/app-cloud-init.yaml.tftpl",
        "      docker pull \"$image\"\n",
        "      docker pull $image\n",
    );
    assert_caught(
        "shellcheck",
        &check_shell(&renders(&t.root)),
        &["/usr/local/sbin/ciel-start", "SC2086"],
    );
}

#[test]
fn catches_a_trust_chain_the_app_container_does_not_get() {
    let t = BrokenTree::new();
    t.replace(
        "modules/compute/templates/app-cloud-init.yaml.tftpl",
        "--env-file /etc/ciel/ciel.env${join(\"\", [for path in sort(keys(pem_files)) : \" -v ${path}:${path}:ro\"])}${publish_port",
        "--env-file /etc/ciel/ciel.env${publish_port",
    );
    let scratch = Scratch::new("broken-bounces");
    let overlay = bounces_overlay(&scratch.0, SOME_PEM);
    let dev = t.root.join("environments/dev");
    let lb = dev.join("scenarios/03-load-balancer-multi-api.tfvars");
    let renders = render_case(&dev, &[lb, overlay], KEY).unwrap();
    assert_caught(
        "mounts",
        &check_mounts(&renders),
        &[
            "SNS_TRUST_CHAIN",
            "/etc/ciel/sns-trust-chain.pem is not mounted",
            "-d --name ciel",
        ],
    );
}

#[test]
fn catches_an_alert_rule_that_no_longer_fires_at_its_threshold() {
    if !tool("promtool", &["--version"]).unwrap() {
        return;
    }
    let t = BrokenTree::new();
    t.replace(
        "modules/observability/alert-rules.yaml",
        "max(ciel_queue_depth{queue=\"jobs\"}) > 1000",
        "max(ciel_queue_depth{queue=\"jobs\"}) > 5000",
    );
    assert_caught(
        "promtool",
        &check_alert_rules(&t.root),
        &["promtool test rules", "CielMediaQueueBacklog"],
    );
}
