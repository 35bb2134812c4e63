//! The monthly cost of a Ciel deployment on Scaleway, component by
//! component, from the stack's knobs (the variables `terraform/stack`
//! receives), one dated prices file (`prices.json`, each price with its
//! source) and a usage profile (stored GB, photos a month, ...).
//!
//! `scripts/cost` (the `cost` binary of `crates/tfcheck`) reads the knobs of
//! an environment and its scenario files from the Terraform tree itself;
//! `ciel advise` prices a scenario's step with [`scenario_delta`], from the
//! scenarios built in here ([`SCENARIOS`]), which tfcheck's tests compare
//! with the tfvars files so that the two cannot drift.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The prices file, bundled: `crates/cost/prices.json`.
pub const PRICES_JSON: &str = include_str!("../prices.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub as_of: String,
    pub currency: String,
    pub prices: BTreeMap<String, Price>,
    pub usage: BTreeMap<String, Usage>,
    pub serverless_per_photo: PerPhoto,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    pub eur: f64,
    pub unit: String,
    pub source: String,
    #[serde(default = "yes")]
    pub verified: bool,
}

fn yes() -> bool {
    true
}

/// What the deployment holds and serves in a month.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Usage {
    pub description: String,
    pub stored_gb: f64,
    pub photos_per_month: f64,
    pub cdn_egress_gb: f64,
    pub custom_metric_samples_million: f64,
}

/// Measured time of one photo in the media pipeline.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PerPhoto {
    pub source: String,
    pub cpu_seconds_at_one_vcpu: f64,
    pub io_seconds: f64,
}

impl Prices {
    /// The bundled prices file.
    pub fn bundled() -> Prices {
        Prices::parse(PRICES_JSON).expect("the bundled prices.json parses (tested)")
    }

    pub fn parse(text: &str) -> Result<Prices, String> {
        serde_json::from_str(text).map_err(|e| format!("prices file: {e}"))
    }

    /// The price of `key` (`instance.DEV1-M`), or an error naming it.
    pub fn get(&self, key: &str) -> Result<f64, String> {
        self.prices
            .get(key)
            .map(|p| p.eur)
            .ok_or_else(|| format!("no price for \"{key}\" in the prices file"))
    }

    pub fn usage(&self, profile: &str) -> Result<Usage, String> {
        self.usage.get(profile).cloned().ok_or_else(|| {
            format!(
                "no usage profile \"{profile}\" (known: {})",
                self.usage.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// The stack's inputs that cost money, with the stack's defaults (the seed's
/// dev table), plus the few module defaults that carry a price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Knobs {
    pub enable_load_balancer: bool,
    pub lb_type: String,
    pub enable_bastion: bool,
    pub bastion_instance_type: String,
    pub enable_public_gateway: bool,
    pub public_gateway_type: String,
    pub db_node_type: String,
    pub enable_ha: bool,
    pub volume_size_in_gb: f64,
    pub read_replica_count: f64,
    /// The cache module's `enabled`: a Redis apart from the API hosts.
    pub enabled: bool,
    pub use_managed_redis: bool,
    pub managed_redis_node_type: String,
    pub redis_instance_type: String,
    pub enable_combined_mode: bool,
    pub combined_instance_type: String,
    pub api_instance_count: f64,
    pub api_instance_type: String,
    pub worker_instance_count: f64,
    pub worker_instance_type: String,
    pub enable_serverless_worker: bool,
    pub serverless_worker_min_scale: f64,
    pub serverless_worker_max_scale: f64,
    pub serverless_worker_cpu: f64,
    pub serverless_worker_memory: f64,
    pub enable_cdn: bool,
    pub edge_services_plan: String,
    pub enable_alerts: bool,
    pub secret_count: f64,
    pub enable_kubernetes: bool,
    pub kubernetes_node_type: String,
    pub kubernetes_min_nodes: f64,
    pub kubernetes_max_nodes: f64,
}

/// The knob names [`Knobs::set`] knows, in the order the stack declares them.
pub const KNOBS: &[&str] = &[
    "enable_load_balancer",
    "lb_type",
    "enable_bastion",
    "enable_public_gateway",
    "db_node_type",
    "enable_ha",
    "volume_size_in_gb",
    "read_replica_count",
    "enabled",
    "use_managed_redis",
    "managed_redis_node_type",
    "redis_instance_type",
    "enable_combined_mode",
    "combined_instance_type",
    "api_instance_count",
    "api_instance_type",
    "worker_instance_count",
    "worker_instance_type",
    "enable_serverless_worker",
    "serverless_worker_min_scale",
    "serverless_worker_max_scale",
    "serverless_worker_cpu",
    "serverless_worker_memory",
    "enable_cdn",
    "enable_alerts",
    "enable_kubernetes",
    "kubernetes_node_type",
    "kubernetes_min_nodes",
    "kubernetes_max_nodes",
];

/// Knobs that live in a module, not in the stack (module call, variable).
pub const MODULE_KNOBS: &[(&str, &str, &str)] = &[
    (
        "bastion_instance_type",
        "networking",
        "bastion_instance_type",
    ),
    ("public_gateway_type", "networking", "public_gateway_type"),
    ("edge_services_plan", "storage", "edge_services_plan"),
];

impl Default for Knobs {
    /// The seed's dev table (`terraform/environments/dev`); tfcheck's tests
    /// compare it with what the tree evaluates to.
    fn default() -> Knobs {
        Knobs {
            enable_load_balancer: false,
            lb_type: "LB-S".into(),
            enable_bastion: true,
            bastion_instance_type: "DEV1-S".into(),
            enable_public_gateway: true,
            public_gateway_type: "VPC-GW-S".into(),
            db_node_type: "DB-DEV-S".into(),
            enable_ha: false,
            volume_size_in_gb: 10.0,
            read_replica_count: 0.0,
            enabled: false,
            use_managed_redis: false,
            managed_redis_node_type: "RED1-micro".into(),
            redis_instance_type: "DEV1-S".into(),
            enable_combined_mode: true,
            combined_instance_type: "DEV1-M".into(),
            api_instance_count: 0.0,
            api_instance_type: "DEV1-S".into(),
            worker_instance_count: 0.0,
            worker_instance_type: "DEV1-M".into(),
            enable_serverless_worker: true,
            serverless_worker_min_scale: 0.0,
            serverless_worker_max_scale: 3.0,
            serverless_worker_cpu: 1000.0,
            serverless_worker_memory: 512.0,
            enable_cdn: false,
            edge_services_plan: "starter".into(),
            enable_alerts: false,
            secret_count: 6.0,
            enable_kubernetes: false,
            kubernetes_node_type: "DEV1-L".into(),
            kubernetes_min_nodes: 2.0,
            kubernetes_max_nodes: 4.0,
        }
    }
}

impl Knobs {
    /// Sets knob `name` from a JSON value (a tfvars literal). Unknown names
    /// are not an error: most variables cost nothing. Returns whether the
    /// knob is one that costs.
    pub fn set(&mut self, name: &str, value: &Value) -> Result<bool, String> {
        fn b(name: &str, v: &Value) -> Result<bool, String> {
            v.as_bool()
                .ok_or_else(|| format!("{name} = {v}: a bool is expected"))
        }
        fn n(name: &str, v: &Value) -> Result<f64, String> {
            v.as_f64()
                .ok_or_else(|| format!("{name} = {v}: a number is expected"))
        }
        fn s(name: &str, v: &Value) -> Result<String, String> {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{name} = {v}: a string is expected"))
        }
        match name {
            "enable_load_balancer" => self.enable_load_balancer = b(name, value)?,
            "lb_type" => self.lb_type = s(name, value)?,
            "enable_bastion" => self.enable_bastion = b(name, value)?,
            "bastion_instance_type" => self.bastion_instance_type = s(name, value)?,
            "enable_public_gateway" => self.enable_public_gateway = b(name, value)?,
            "public_gateway_type" => self.public_gateway_type = s(name, value)?,
            "db_node_type" => self.db_node_type = s(name, value)?,
            "enable_ha" => self.enable_ha = b(name, value)?,
            "volume_size_in_gb" => self.volume_size_in_gb = n(name, value)?,
            "read_replica_count" => self.read_replica_count = n(name, value)?,
            "enabled" => self.enabled = b(name, value)?,
            "use_managed_redis" => self.use_managed_redis = b(name, value)?,
            "managed_redis_node_type" => self.managed_redis_node_type = s(name, value)?,
            "redis_instance_type" => self.redis_instance_type = s(name, value)?,
            "enable_combined_mode" => self.enable_combined_mode = b(name, value)?,
            "combined_instance_type" => self.combined_instance_type = s(name, value)?,
            "api_instance_count" => self.api_instance_count = n(name, value)?,
            "api_instance_type" => self.api_instance_type = s(name, value)?,
            "worker_instance_count" => self.worker_instance_count = n(name, value)?,
            "worker_instance_type" => self.worker_instance_type = s(name, value)?,
            "enable_serverless_worker" => self.enable_serverless_worker = b(name, value)?,
            "serverless_worker_min_scale" => self.serverless_worker_min_scale = n(name, value)?,
            "serverless_worker_max_scale" => self.serverless_worker_max_scale = n(name, value)?,
            "serverless_worker_cpu" => self.serverless_worker_cpu = n(name, value)?,
            "serverless_worker_memory" => self.serverless_worker_memory = n(name, value)?,
            "enable_cdn" => self.enable_cdn = b(name, value)?,
            "edge_services_plan" => self.edge_services_plan = s(name, value)?,
            "enable_alerts" => self.enable_alerts = b(name, value)?,
            "secret_count" => self.secret_count = n(name, value)?,
            "enable_kubernetes" => self.enable_kubernetes = b(name, value)?,
            "kubernetes_node_type" => self.kubernetes_node_type = s(name, value)?,
            "kubernetes_min_nodes" => self.kubernetes_min_nodes = n(name, value)?,
            "kubernetes_max_nodes" => self.kubernetes_max_nodes = n(name, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// These knobs with a scenario's overlay applied.
    pub fn with(&self, overlay: &[(&str, Value)]) -> Result<Knobs, String> {
        let mut knobs = self.clone();
        for (name, value) in overlay {
            knobs.set(name, value)?;
        }
        Ok(knobs)
    }
}

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

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub component: String,
    pub resource: String,
    pub eur: f64,
}

/// The serverless worker's model: what a photo costs in vCPU-s and GB-s at
/// the configured size, and how many photos the free tier covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Serverless {
    pub cpu_mvcpu: f64,
    pub memory_mb: f64,
    pub seconds_per_photo: f64,
    pub vcpu_s_per_photo: f64,
    pub gb_s_per_photo: f64,
    pub photos_per_month: f64,
    pub vcpu_s_per_month: f64,
    pub gb_s_per_month: f64,
    pub free_tier_photos: f64,
    pub eur: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub prices_as_of: String,
    pub usage_profile: String,
    pub lines: Vec<Line>,
    pub total: f64,
    pub serverless: Option<Serverless>,
}

impl Estimate {
    /// The sum of the lines of `component`.
    pub fn component(&self, component: &str) -> f64 {
        self.lines
            .iter()
            .filter(|l| l.component == component)
            .map(|l| l.eur)
            .sum()
    }
}

/// Component names, stable (the tests and `--json` use them).
pub mod component {
    pub const COMBINED: &str = "Combined instance";
    pub const API: &str = "API instances";
    pub const WORKERS: &str = "Worker instances";
    pub const REDIS: &str = "Redis";
    pub const DATABASE: &str = "Database";
    pub const STORAGE: &str = "Object Storage";
    pub const MESSAGING: &str = "Messaging (SQS)";
    pub const SERVERLESS: &str = "Serverless worker";
    pub const SECRETS: &str = "Secrets Manager";
    pub const GATEWAY: &str = "Public Gateway";
    pub const BASTION: &str = "Bastion";
    pub const LB: &str = "Load balancer";
    pub const CDN: &str = "CDN (Edge Services)";
    pub const COCKPIT: &str = "Cockpit";
    pub const KUBERNETES: &str = "Kubernetes (Kapsule)";
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The serverless worker's month at `knobs`' size for `usage`.
pub fn serverless(knobs: &Knobs, usage: &Usage, prices: &Prices) -> Result<Serverless, String> {
    let per = &prices.serverless_per_photo;
    let vcpu = knobs.serverless_worker_cpu / 1000.0;
    let gb = knobs.serverless_worker_memory / 1024.0;
    // The pipeline runs one photo on one core: below one vCPU it is slowed
    // down in proportion, above it it does not go faster.
    let cpu_seconds = per.cpu_seconds_at_one_vcpu / vcpu.min(1.0);
    let seconds = cpu_seconds + per.io_seconds;
    let (vcpu_s, gb_s) = (seconds * vcpu, seconds * gb);
    let (free_vcpu, free_gb) = (
        prices.get("serverless.free_vcpu_s")?,
        prices.get("serverless.free_gb_s")?,
    );
    let month_vcpu = vcpu_s * usage.photos_per_month;
    let month_gb = gb_s * usage.photos_per_month;
    let eur = (month_vcpu - free_vcpu).max(0.0) * prices.get("serverless.vcpu_s")?
        + (month_gb - free_gb).max(0.0) * prices.get("serverless.gb_s")?;
    Ok(Serverless {
        cpu_mvcpu: knobs.serverless_worker_cpu,
        memory_mb: knobs.serverless_worker_memory,
        seconds_per_photo: seconds,
        vcpu_s_per_photo: vcpu_s,
        gb_s_per_photo: gb_s,
        photos_per_month: usage.photos_per_month,
        vcpu_s_per_month: month_vcpu,
        gb_s_per_month: month_gb,
        free_tier_photos: (free_vcpu / vcpu_s).min(free_gb / gb_s).floor(),
        eur: round2(eur),
    })
}

/// The month's bill of a deployment with these knobs.
pub fn estimate(knobs: &Knobs, usage_profile: &str, prices: &Prices) -> Result<Estimate, String> {
    use component::*;
    let usage = prices.usage(usage_profile)?;
    let mut lines = Vec::new();
    let mut line = |component: &str, resource: String, eur: f64| {
        lines.push(Line {
            component: component.to_string(),
            resource,
            eur: round2(eur),
        })
    };
    let instance = |t: &str| prices.get(&format!("instance.{t}"));

    // Compute: the combined instance, or API instances (scenario 9 moves the
    // API to Kubernetes nodes and turns both off).
    if knobs.enable_combined_mode {
        let t = &knobs.combined_instance_type;
        line(COMBINED, format!("1x {t}"), instance(t)?);
    } else if knobs.api_instance_count > 0.0 {
        let (n, t) = (knobs.api_instance_count, &knobs.api_instance_type);
        line(API, format!("{n}x {t}"), n * instance(t)?);
    }
    if knobs.worker_instance_count > 0.0 {
        let (n, t) = (knobs.worker_instance_count, &knobs.worker_instance_type);
        line(WORKERS, format!("{n}x {t}"), n * instance(t)?);
    }
    if knobs.enable_kubernetes {
        let (min, max, t) = (
            knobs.kubernetes_min_nodes,
            knobs.kubernetes_max_nodes,
            &knobs.kubernetes_node_type,
        );
        line(
            KUBERNETES,
            "control plane (mutualised)".into(),
            prices.get("kapsule.control_plane")?,
        );
        line(
            KUBERNETES,
            format!(
                "{min}x {t} nodes (autoscaled {min}..{max}: up to {:.2})",
                max * instance(t)?
            ),
            min * instance(t)?,
        );
        line(
            KUBERNETES,
            "LB-S for the API Service".into(),
            prices.get("lb.LB-S")?,
        );
    }

    // Redis apart from the API hosts (the combined instance embeds one; on
    // Kubernetes it is a StatefulSet, unless the managed one is used).
    if knobs.enabled {
        if knobs.use_managed_redis {
            let t = &knobs.managed_redis_node_type;
            line(
                REDIS,
                format!("managed {t}"),
                prices.get(&format!("redis.{t}"))?,
            );
        } else if !knobs.enable_kubernetes {
            let t = &knobs.redis_instance_type;
            line(REDIS, format!("self-hosted 1x {t}"), instance(t)?);
        }
    }

    let nodes = if knobs.enable_ha { 2.0 } else { 1.0 };
    let node = prices.get(&format!("database.{}", knobs.db_node_type))?;
    let extra_gb = (knobs.volume_size_in_gb - 10.0).max(0.0);
    let ha = if knobs.enable_ha { " HA (2 nodes)" } else { "" };
    line(
        DATABASE,
        format!("{}{ha}", knobs.db_node_type),
        nodes * node,
    );
    if extra_gb > 0.0 {
        line(
            DATABASE,
            format!(
                "volume {} GB ({extra_gb} beyond the 10 in the node price)",
                knobs.volume_size_in_gb
            ),
            nodes * extra_gb * prices.get("database.volume_gb")?,
        );
    }
    if knobs.read_replica_count > 0.0 {
        let n = knobs.read_replica_count;
        line(
            DATABASE,
            format!("{n}x read replica {}", knobs.db_node_type),
            n * (node + extra_gb * prices.get("database.volume_gb")?),
        );
    }

    line(
        STORAGE,
        format!("~{} GB", usage.stored_gb),
        usage.stored_gb * prices.get("object_storage.gb")?,
    );
    // A photo: one send, one receive (or trigger pull) and one delete.
    let requests = usage.photos_per_month * 3.0;
    let free = prices.get("sqs.free_requests")?;
    line(
        MESSAGING,
        format!(
            "~{:.0}K requests (first {:.0}M free)",
            requests / 1000.0,
            free / 1e6
        ),
        (requests - free).max(0.0) / 1e6 * prices.get("sqs.million_requests")?,
    );
    let worker = if knobs.enable_serverless_worker {
        let s = serverless(knobs, &usage, prices)?;
        line(
            SERVERLESS,
            format!(
                "{} mvCPU / {} MB, {:.0}K photos ({:.0}K within the free tier)",
                s.cpu_mvcpu,
                s.memory_mb,
                s.photos_per_month / 1000.0,
                s.free_tier_photos / 1000.0
            ),
            s.eur,
        );
        Some(s)
    } else {
        None
    };
    line(
        SECRETS,
        format!("{} secrets", knobs.secret_count),
        knobs.secret_count * prices.get("secret_manager.secret")?,
    );
    if knobs.enable_public_gateway {
        let t = &knobs.public_gateway_type;
        line(
            GATEWAY,
            t.clone(),
            prices.get(&format!("public_gateway.{t}"))?,
        );
    }
    if knobs.enable_bastion {
        let t = &knobs.bastion_instance_type;
        line(BASTION, t.clone(), instance(t)?);
    }
    if knobs.enable_load_balancer {
        let t = &knobs.lb_type;
        line(LB, t.clone(), prices.get(&format!("lb.{t}"))?);
    }
    if knobs.enable_cdn {
        let plan = &knobs.edge_services_plan;
        let included = prices.get("edge_services.included_egress_gb")?;
        line(
            CDN,
            format!("{plan} plan, ~{} GB egress", usage.cdn_egress_gb),
            prices.get(&format!("edge_services.{plan}"))?
                + (usage.cdn_egress_gb - included).max(0.0)
                    * prices.get("edge_services.egress_gb")?,
        );
    }
    if usage.custom_metric_samples_million > 0.0 {
        line(
            COCKPIT,
            format!("~{}M custom samples", usage.custom_metric_samples_million),
            usage.custom_metric_samples_million
                * prices.get("cockpit.custom_metrics_million_samples")?,
        );
    }

    let total = round2(lines.iter().map(|l| l.eur).sum());
    Ok(Estimate {
        prices_as_of: prices.as_of.clone(),
        usage_profile: usage_profile.to_string(),
        lines,
        total,
        serverless: worker,
    })
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

/// `+€19.00` / `-€7.00` / `±€0.00`.
pub fn signed_eur(delta: f64) -> String {
    if delta > 0.004 {
        format!("+€{delta:.2}")
    } else if delta < -0.004 {
        format!("-€{:.2}", -delta)
    } else {
        "±€0.00".to_string()
    }
}

/// The estimate as a table, one line per component.
pub fn render(estimate: &Estimate, title: &str) -> String {
    let mut out = format!(
        "{title}: monthly cost in EUR (prices of {}, usage profile \"{}\")\n",
        estimate.prices_as_of, estimate.usage_profile
    );
    out.push_str(&format!(
        "{:<22} {:<60} {:>9}\n",
        "component", "resource", "EUR/month"
    ));
    for l in &estimate.lines {
        out.push_str(&format!(
            "{:<22} {:<60} {:>9.2}\n",
            l.component, l.resource, l.eur
        ));
    }
    out.push_str(&format!(
        "{:<22} {:<60} {:>9.2}\n",
        "Total", "", estimate.total
    ));
    if let Some(s) = &estimate.serverless {
        out.push_str(&format!(
            "Serverless worker at {} mvCPU / {} MB: {:.2} s, {:.3} vCPU-s and {:.3} GB-s per photo; \
             the free tier (200K vCPU-s, 400K GB-s) covers {:.0} photos a month\n",
            s.cpu_mvcpu,
            s.memory_mb,
            s.seconds_per_photo,
            s.vcpu_s_per_photo,
            s.gb_s_per_photo,
            s.free_tier_photos
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_price_has_a_source_and_every_scenario_an_overlay() {
        let prices = Prices::bundled();
        assert!(prices.as_of.len() == 10, "as_of is a date");
        for (key, p) in &prices.prices {
            assert!(!p.source.is_empty(), "{key} has no source");
            assert!(p.eur >= 0.0, "{key}");
        }
        for s in SCENARIOS {
            assert!(scenario_overlay(s.number).is_some(), "{}", s.file);
        }
    }

    #[test]
    fn an_unknown_type_is_an_error_naming_the_price() {
        let knobs = Knobs {
            combined_instance_type: "DEV9-Z".into(),
            ..Knobs::default()
        };
        let err = estimate(&knobs, "dev", &Prices::bundled()).unwrap_err();
        assert!(err.contains("instance.DEV9-Z"), "{err}");
    }

    #[test]
    fn a_knob_of_the_wrong_type_is_an_error() {
        let err = Knobs::default()
            .with(&[("enable_ha", json!("yes"))])
            .unwrap_err();
        assert!(err.contains("enable_ha"), "{err}");
    }
}
