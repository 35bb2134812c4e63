//! The scaling scenarios of the seed, built in: `ciel advise` prices them
//! without the Terraform tree, and tfcheck's tests compare each with its
//! tfvars file so that the two cannot drift.

use serde_json::{Value, json};

use crate::estimate::{Estimate, estimate, round2};
use crate::knobs::Knobs;
use crate::prices::Prices;

/// A scaling scenario: its number, its file in
/// `terraform/environments/dev/scenarios/`, and the variables it sets.
pub struct Scenario {
    pub number: u32,
    pub file: &'static str,
    pub title: &'static str,
    /// The seed's cost delta, as the seed words it.
    pub seed_delta: &'static str,
}

/// The scenario files, in order. Their contents are [`scenario_overlay`].
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        number: 1,
        file: "01-upgrade-combined-instance.tfvars",
        title: "Upgrade the combined instance (DEV1-L, Redis 1024 MB)",
        seed_delta: "+€19/mo",
    },
    Scenario {
        number: 2,
        file: "02-split-api-redis.tfvars",
        title: "Split API and Redis onto separate instances",
        seed_delta: "~+€6/mo (separate DEV1-S for Redis)",
    },
    Scenario {
        number: 3,
        file: "03-load-balancer-multi-api.tfvars",
        title: "Load balancer and 2 API instances",
        seed_delta: "+€12/mo (LB) + per-instance cost",
    },
    Scenario {
        number: 4,
        file: "04-managed-redis.tfvars",
        title: "Managed Redis (RED1-micro)",
        seed_delta: "~+€35/mo for RED1-micro",
    },
    Scenario {
        number: 5,
        file: "05-upgrade-database.tfvars",
        title: "Database DB-PRO2-XXS with HA, 20 GB, a read replica",
        seed_delta: "~+€63/mo for DB-PRO2-XXS with HA",
    },
    Scenario {
        number: 6,
        file: "06-scale-serverless-worker.tfvars",
        title: "Scale the serverless worker (2 vCPU, 1 GB, max 10)",
        seed_delta: "minimal (per-invocation billing)",
    },
    Scenario {
        number: 7,
        file: "07-enable-cdn.tfvars",
        title: "CDN for the media (Edge Services)",
        seed_delta: "not given",
    },
    Scenario {
        number: 8,
        file: "08-production-ready.tfvars",
        title: "Production-ready full split",
        seed_delta: "~€200-250/month in total",
    },
    Scenario {
        number: 9,
        file: "09-kubernetes.tfvars",
        title: "API and Redis on Kubernetes (Kapsule)",
        seed_delta: "not given (free control plane, nodes priced as instances)",
    },
];

/// The variables scenario `number` sets, as its tfvars file writes them
/// (tfcheck's tests compare the two).
pub fn scenario_overlay(number: u32) -> Option<Vec<(&'static str, Value)>> {
    let overlay = match number {
        1 => vec![
            ("combined_instance_type", json!("DEV1-L")),
            ("embedded_redis_maxmemory_mb", json!(1024)),
        ],
        2 => vec![
            ("enable_combined_mode", json!(false)),
            ("api_instance_count", json!(1)),
            ("api_instance_type", json!("DEV1-S")),
            ("enabled", json!(true)),
            ("use_managed_redis", json!(false)),
            ("redis_instance_type", json!("DEV1-S")),
        ],
        3 => vec![
            ("enable_load_balancer", json!(true)),
            ("lb_type", json!("LB-S")),
            ("enable_combined_mode", json!(false)),
            ("api_instance_count", json!(2)),
            ("api_instance_type", json!("DEV1-M")),
            ("enabled", json!(true)),
            ("use_managed_redis", json!(false)),
        ],
        4 => vec![
            ("enabled", json!(true)),
            ("use_managed_redis", json!(true)),
            ("managed_redis_node_type", json!("RED1-micro")),
        ],
        5 => vec![
            ("db_node_type", json!("DB-PRO2-XXS")),
            ("enable_ha", json!(true)),
            ("volume_size_in_gb", json!(20)),
            ("read_replica_count", json!(1)),
        ],
        6 => vec![
            ("serverless_worker_cpu", json!(2000)),
            ("serverless_worker_memory", json!(1024)),
            ("serverless_worker_max_scale", json!(10)),
        ],
        7 => vec![
            ("enable_cdn", json!(true)),
            ("cors_allowed_origins", json!(["https://yourdomain.com"])),
            ("enable_cdn_dns", json!(true)),
            ("cdn_subdomain", json!("media")),
        ],
        8 => vec![
            ("enable_load_balancer", json!(true)),
            ("enable_bastion", json!(false)),
            ("enable_combined_mode", json!(false)),
            ("api_instance_count", json!(2)),
            ("api_instance_type", json!("DEV1-M")),
            ("enable_serverless_worker", json!(true)),
            ("serverless_worker_max_scale", json!(10)),
            ("db_node_type", json!("DB-PRO2-XXS")),
            ("enable_ha", json!(true)),
            ("volume_size_in_gb", json!(20)),
            ("enabled", json!(true)),
            ("use_managed_redis", json!(true)),
            ("managed_redis_node_type", json!("RED1-micro")),
            ("enable_cdn", json!(true)),
            ("enable_alerts", json!(true)),
        ],
        9 => vec![
            ("enable_kubernetes", json!(true)),
            ("kubernetes_node_type", json!("DEV1-L")),
            ("kubernetes_min_nodes", json!(2)),
            ("kubernetes_max_nodes", json!(4)),
            ("enable_combined_mode", json!(false)),
            ("api_instance_count", json!(0)),
        ],
        _ => return None,
    };
    Some(overlay)
}

pub fn scenario(number: u32) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.number == number)
}

/// What applying scenario `number` on top of `base` changes in the month's
/// bill: (the estimate with it, its total minus `base`'s).
pub fn scenario_delta(
    base: &Knobs,
    number: u32,
    usage_profile: &str,
    prices: &Prices,
) -> Result<(Estimate, f64), String> {
    let overlay = scenario_overlay(number).ok_or_else(|| format!("no scenario {number}"))?;
    let before = estimate(base, usage_profile, prices)?;
    let after = estimate(&base.with(&overlay)?, usage_profile, prices)?;
    let delta = round2(after.total - before.total);
    Ok((after, delta))
}
