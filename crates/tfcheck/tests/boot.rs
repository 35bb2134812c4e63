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
        "\"  bearer_token    = ${jsonencode(admin_token)}\",",
        "\"  bearer_token    = \\\"${admin_token}\\\"\",",
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
