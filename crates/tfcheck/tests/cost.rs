//! The cost estimator (`scripts/cost`, `crates/cost`) against the seed's
//! figures, read from the real Terraform tree, and the built-in scenarios of
//! `ciel-cost` (which `ciel advise` prices) against the tfvars files.

mod common;

use ciel_cost::component::*;
use ciel_cost::{Estimate, Knobs, Prices, SCENARIOS, estimate, scenario_overlay};
use common::{b, n};
use std::process::Command;
use tfcheck::cost::{knobs, tfvars_files};
use tfcheck::*;

fn scenario_names(numbers: &[u32]) -> Vec<String> {
    numbers.iter().map(|n| n.to_string()).collect()
}

/// The estimate of `env` with `scenarios` applied, from the tree.
fn cost(env: &str, scenarios: &[u32], usage: &str) -> Estimate {
    let files = tfvars_files(env, &scenario_names(scenarios)).unwrap();
    estimate(&knobs(env, &files).unwrap(), usage, &Prices::bundled()).unwrap()
}

fn close(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got €{got:.2}, the seed says ~€{want:.2}"
    );
}

/// The seed's dev table, line by line: DEV1-M ~€19, DB-DEV-S ~€17, 50 GB
/// ~€0.75, SQS €0, serverless ~€0, secrets ~€0.40 (the tree has 7, the seed
/// counted ~10), VPC-GW-S ~€5; about €42 in total. The seed's "bastion
/// DEV1-S ~€6" is gone: with the public gateway (dev's), the networking
/// module creates no bastion instance and SSH goes through the gateway's
/// own bastion, which the gateway's price includes.
#[test]
fn dev_reproduces_the_seed_table_line_by_line() {
    let dev = cost("dev", &[], "dev");
    let rows = [
        (COMBINED, 19.0),
        (DATABASE, 17.0),
        (STORAGE, 0.75),
        (MESSAGING, 0.0),
        (SERVERLESS, 0.0),
        (SECRETS, 0.40),
        (GATEWAY, 5.0),
    ];
    for (component, eur) in rows {
        assert!(
            dev.lines.iter().any(|l| l.component == component),
            "dev has no {component} line: {:?}",
            dev.lines
        );
        close(dev.component(component), eur, 0.2, component);
    }
    let components: std::collections::BTreeSet<&str> =
        dev.lines.iter().map(|l| l.component.as_str()).collect();
    assert_eq!(components.len(), rows.len(), "extra lines: {:?}", dev.lines);
    close(dev.total, 42.0, 0.5, "dev total");
    assert_eq!(
        dev.component(BASTION),
        0.0,
        "no bastion instance behind a gateway"
    );
    // Without the gateway the bastion is an instance again, and priced.
    let mut knobs = knobs("dev", &tfvars_files("dev", &[]).unwrap()).unwrap();
    knobs.enable_public_gateway = false;
    let no_gateway = estimate(&knobs, "dev", &Prices::bundled()).unwrap();
    assert_eq!(no_gateway.component(BASTION), 6.0);
    assert_eq!(no_gateway.component(GATEWAY), 0.0);
    let combined = dev.lines.iter().find(|l| l.component == COMBINED).unwrap();
    assert_eq!(combined.resource, "1x DEV1-M");
    // Staging is dev's shape.
    assert_eq!(cost("staging", &[], "dev").total, dev.total);
}

/// Each scenario's delta over dev, where the seed gives one.
#[test]
fn scenarios_reproduce_the_seed_deltas() {
    let dev = cost("dev", &[], "dev");
    let delta = |numbers: &[u32]| {
        let with = cost("dev", numbers, "dev");
        (
            with.clone(),
            ((with.total - dev.total) * 100.0).round() / 100.0,
        )
    };

    // 1: +€19 (DEV1-L ~€38 vs DEV1-M ~€19).
    let (s1, d1) = delta(&[1]);
    assert_eq!(d1, 19.0);
    assert_eq!(s1.component(COMBINED), 38.0);

    // 2: "~+€6 (separate DEV1-S for Redis)". The file also moves the API to
    // one DEV1-S, so the whole step is cheaper than the seed's wording.
    let (s2, d2) = delta(&[2]);
    assert_eq!(s2.component(REDIS), 6.0);
    assert_eq!(s2.component(COMBINED), 0.0);
    assert_eq!(s2.component(API), 6.0);
    assert_eq!(d2, 6.0 + 6.0 - 19.0);

    // 3: "+€12 (LB) + per-instance cost": 2 DEV1-M and the Redis DEV1-S
    // instead of the combined instance.
    let (s3, d3) = delta(&[3]);
    assert_eq!(s3.component(LB), 12.0);
    assert_eq!(s3.component(API), 38.0);
    assert_eq!(d3, 12.0 + 38.0 + 6.0 - 19.0);

    // 4: "~+€35 for RED1-micro"; over scenario 2 it replaces the DEV1-S.
    assert_eq!(delta(&[4]).1, 35.0);
    let s2_total = cost("dev", &[2], "dev").total;
    let s24_total = cost("dev", &[2, 4], "dev").total;
    assert_eq!(((s24_total - s2_total) * 100.0).round() / 100.0, 35.0 - 6.0);

    // 5: "~+€63 for DB-PRO2-XXS with HA"; the file adds 10 GB and a replica,
    // which the estimator prices on their own lines.
    let (s5, d5) = delta(&[5]);
    let node = s5
        .lines
        .iter()
        .find(|l| l.component == DATABASE && l.resource.starts_with("DB-PRO2-XXS HA"))
        .expect("an HA node line");
    assert_eq!(node.eur - 17.0, 63.0);
    assert!(d5 > 63.0, "volume and replica add to the node: {d5}");
    assert!(s5.lines.iter().any(|l| l.resource.contains("read replica")));

    // 6: "minimal": per-invocation billing, dev's photos inside the free tier.
    let (s6, d6) = delta(&[6]);
    assert_eq!(d6, 0.0);
    let worker = s6.serverless.expect("a serverless model");
    assert_eq!((worker.cpu_mvcpu, worker.memory_mb), (2000, 1024));

    // 9: the nodes and the Service's LB instead of the combined instance.
    let (s9, d9) = delta(&[9]);
    assert_eq!(s9.component(COMBINED), 0.0);
    assert_eq!(s9.component(API), 0.0);
    assert!(
        s9.component(KUBERNETES) >= 2.0 * 38.0 + 12.0,
        "{:?}",
        s9.lines
    );
    assert!(d9 > 0.0);
}

/// "Estimated cost: ~€200-250/month" for scenario 8, at production usage
/// (the seed's "10K+ users"), whether as prod or as dev + scenario 8.
#[test]
fn scenario_8_costs_200_to_250_a_month() {
    let prod = cost("prod", &[], "production");
    assert!(
        (200.0..=250.0).contains(&prod.total),
        "prod: €{:.2}, lines {:#?}",
        prod.total,
        prod.lines
    );
    let dev8 = cost("dev", &[8], "production");
    assert!(
        (200.0..=250.0).contains(&dev8.total),
        "dev + 8: {}",
        dev8.total
    );
    // Scenario 8 is the full split: LB, 2 API instances, HA database,
    // managed Redis, CDN, no bastion.
    for component in [LB, API, DATABASE, REDIS, CDN] {
        assert!(prod.component(component) > 0.0, "prod has no {component}");
    }
    assert_eq!(prod.component(BASTION), 0.0);
    assert_eq!(prod.component(COMBINED), 0.0);
}

/// The serverless worker's model: per-photo vCPU-s and GB-s from the media
/// benchmark, and the photos a month the free tier covers.
#[test]
fn the_free_tier_covers_photos_by_container_size() {
    let prices = Prices::bundled();
    let per = &prices.serverless_per_photo;
    let dev = cost("dev", &[], "dev").serverless.unwrap();
    let seconds = per.cpu_seconds_at_one_vcpu + per.io_seconds;
    assert!((dev.vcpu_s_per_photo - seconds).abs() < 1e-9);
    assert!((dev.gb_s_per_photo - seconds * 0.5).abs() < 1e-9);
    // 1 vCPU / 512 MB: vCPU-s run out first (200K vCPU-s vs 400K GB-s).
    assert_eq!(dev.free_tier_photos, (200_000.0 / seconds).floor() as u64);
    // Twice the vCPUs bill twice the vCPU-s for the same single-threaded
    // pipeline: half the photos are free.
    let s6 = cost("dev", &[6], "dev").serverless.unwrap();
    assert_eq!(
        s6.free_tier_photos,
        (200_000.0 / (2.0 * seconds)).floor() as u64
    );
    // Past the free tier, it costs.
    let knobs = Knobs::default();
    let mut usage = prices.usage("dev").unwrap();
    usage.photos_per_month = 2.0 * dev.free_tier_photos as f64;
    let paid = ciel_cost::serverless(&knobs, &usage, &prices).unwrap();
    assert!(paid.eur > 0.0);
}

/// `ciel advise` prices steps with ciel-cost's built-in scenarios and dev
/// baseline: they must equal the tree's files, or the advice drifts.
#[test]
fn built_in_scenarios_and_baseline_equal_the_tree() {
    let dev_knobs = knobs("dev", &tfvars_files("dev", &[]).unwrap()).unwrap();
    assert_eq!(
        dev_knobs,
        Knobs::default(),
        "ciel-cost's Knobs::default() != dev"
    );
    let dir = terraform_root().join("environments/dev/scenarios");
    let files = files_with_ext(&dir, ".tfvars");
    assert_eq!(
        files.len(),
        SCENARIOS.len(),
        "a scenario file without a SCENARIOS entry"
    );
    for scenario in SCENARIOS {
        let path = dir.join(scenario.file);
        let body = parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", scenario.file));
        let in_file: Vec<(String, serde_json::Value)> = body
            .attributes()
            .map(|a| {
                let v = literal(a.expr()).expect("literal");
                (a.key().to_string(), serde_json::to_value(v).unwrap())
            })
            .collect();
        let built_in: Vec<(String, serde_json::Value)> = scenario_overlay(scenario.number)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(
            in_file, built_in,
            "{} differs from ciel-cost",
            scenario.file
        );
        // And the knobs the tree evaluates equal the overlay on the default.
        let tree = knobs("dev", &[path]).unwrap();
        let overlay = scenario_overlay(scenario.number).unwrap();
        assert_eq!(
            tree,
            Knobs::default().with(&overlay).unwrap(),
            "{}",
            scenario.file
        );
    }
}

fn run_cost(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cost"))
        .args(args)
        .output()
        .expect("the cost binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The command: a table, a delta line, `--json`, and clear errors.
#[test]
fn the_command_prints_a_table_json_and_clear_errors() {
    let (code, out, err) = run_cost(&["dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Combined instance") && out.contains("1x DEV1-M"),
        "{out}"
    );
    assert!(out.contains("Total"), "{out}");
    assert!(out.contains("the free tier"), "{out}");

    let (code, out, err) = run_cost(&["dev", "01"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+€19.00/month"), "{out}");

    let (code, out, err) = run_cost(&["dev", "9", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["tfvars"][0], "09-kubernetes.tfvars");
    assert!(doc["estimate"]["total"].as_f64().unwrap() > 0.0);
    assert!(doc["delta"].is_number());
    assert!(
        doc["estimate"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["component"] == KUBERNETES)
    );

    let (code, _, err) = run_cost(&["dev", "42"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no scenario \"42\"") && err.contains("01-upgrade"),
        "{err}"
    );
    let (code, _, err) = run_cost(&["mars"]);
    assert_eq!(code, 2);
    assert!(err.contains("no environment \"mars\""), "{err}");
    let (code, _, err) = run_cost(&["dev", "--usage", "galactic"]);
    assert_eq!(code, 2);
    assert!(err.contains("no usage profile \"galactic\""), "{err}");
}

/// Scenario 9 through the stack: the cluster and its autoscaled pool on,
/// the API instances and the combined instance off, everything else as it
/// was (database, storage, messaging, secrets, serverless worker).
#[test]
fn scenario_9_moves_only_the_api_and_redis() {
    let dir = terraform_root().join("environments/dev");
    let base = Env::load(&dir, &[]).unwrap();
    let s9 = Env::load(&dir, &[dir.join("scenarios/09-kubernetes.tfvars")]).unwrap();
    assert_eq!(
        base.module_input("kubernetes", "enabled").unwrap(),
        b(false)
    );
    assert_eq!(s9.module_input("kubernetes", "enabled").unwrap(), b(true));
    assert_eq!(
        s9.module_input("kubernetes", "node_type").unwrap(),
        common::s("DEV1-L")
    );
    assert_eq!(
        s9.module_input("compute", "enable_combined_mode").unwrap(),
        b(false)
    );
    assert_eq!(
        s9.module_input("compute", "api_instance_count").unwrap(),
        n(0)
    );
    for (call, input) in [
        ("database", "db_node_type"),
        ("compute", "enable_serverless_worker"),
        ("compute", "serverless_worker_max_scale"),
        ("storage", "enable_cdn"),
        ("cache", "enabled"),
        ("messaging", "visibility_timeout_seconds"),
    ] {
        assert_eq!(
            s9.module_input(call, input).unwrap(),
            base.module_input(call, input).unwrap(),
            "scenario 9 changed {call}.{input}"
        );
    }
    // The cluster sits on the private network and the pool autoscales.
    let module = s9.module_dir("kubernetes").unwrap();
    let cluster = module
        .block("resource", &["scaleway_k8s_cluster", "this"])
        .expect("a cluster");
    let network = cluster
        .body()
        .attributes()
        .find(|a| a.key() == "private_network_id")
        .expect("private_network_id is set");
    assert!(
        references(network.expr())
            .iter()
            .any(|r| r.root == "var" && r.first_attr() == Some("private_network_id")),
        "the cluster is not on the private network"
    );
    let pool = module
        .block("resource", &["scaleway_k8s_pool", "app"])
        .expect("a pool");
    let autoscaling = pool
        .body()
        .attributes()
        .find(|a| a.key() == "autoscaling")
        .and_then(|a| literal(a.expr()));
    assert_eq!(autoscaling, Some(b(true)));
}

/// `--months`: today's and the new choices month by month, the comparison,
/// JSON, and a clear error for a bad number.
#[test]
fn the_command_projects_months_of_each_choice() {
    let (code, out, err) = run_cost(&["dev", "--months", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3-month projection"), "{out}");
    assert!(
        out.contains("Today: WebP+JPEG, originals Standard, views via bucket"),
        "{out}"
    );
    assert!(
        out.contains("New: WebP, originals Glacier, views via CDN"),
        "{out}"
    );
    assert!(out.contains("+ originals in Glacier"), "{out}");

    let (code, out, err) = run_cost(&[
        "dev",
        "8",
        "--usage",
        "production",
        "--months",
        "12",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["tfvars"][0], "08-production-ready.tfvars");
    let rows = doc["projections"].as_array().unwrap();
    let (today, new) = (&rows[0], &rows[rows.len() - 1]);
    assert_eq!(today["months"].as_array().unwrap().len(), 12);
    assert_eq!(today["choices"]["cdn"], true, "scenario 8 has the CDN");
    let total = |row: &serde_json::Value| row["total_eur"].as_f64().unwrap();
    assert!(
        total(new) < total(today),
        "{} vs {}",
        total(new),
        total(today)
    );

    for bad in ["0", "x", "121"] {
        let (code, _, err) = run_cost(&["dev", "--months", bad]);
        assert_eq!(code, 2);
        assert!(err.contains("from 1 to 120"), "{err}");
    }
}
