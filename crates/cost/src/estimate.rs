//! The month's bill of a deployment: one line per resource that costs,
//! grouped by component.

use serde::Serialize;

use crate::knobs::Knobs;
use crate::prices::{Prices, Usage};

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
    pub cpu_mvcpu: u32,
    pub memory_mb: u32,
    pub seconds_per_photo: f64,
    pub vcpu_s_per_photo: f64,
    pub gb_s_per_photo: f64,
    pub photos_per_month: f64,
    pub vcpu_s_per_month: f64,
    pub gb_s_per_month: f64,
    pub free_tier_photos: u64,
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

use component::*;

/// Cents: what the bill shows.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One photo in the serverless worker at `knobs`' size: (billed seconds,
/// vCPU-s, GB-s).
pub fn per_photo(knobs: &Knobs, prices: &Prices) -> (f64, f64, f64) {
    let per = &prices.serverless_per_photo;
    let vcpu = f64::from(knobs.serverless_worker_cpu) / 1000.0;
    let gb = f64::from(knobs.serverless_worker_memory) / 1024.0;
    // The pipeline runs one photo on one core: below one vCPU it is slowed
    // down in proportion, above it it does not go faster.
    let cpu_seconds = per.cpu_seconds_at_one_vcpu / vcpu.min(1.0);
    let seconds = cpu_seconds + per.io_seconds;
    (seconds, seconds * vcpu, seconds * gb)
}

/// The serverless worker's month at `knobs`' size for `usage`.
pub fn serverless(knobs: &Knobs, usage: &Usage, prices: &Prices) -> Result<Serverless, String> {
    let (seconds, vcpu_s, gb_s) = per_photo(knobs, prices);
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
        free_tier_photos: (free_vcpu / vcpu_s).min(free_gb / gb_s).floor() as u64,
        eur: round2(eur),
    })
}

/// The month's bill of a deployment with these knobs.
pub fn estimate(knobs: &Knobs, usage_profile: &str, prices: &Prices) -> Result<Estimate, String> {
    let usage = prices.usage(usage_profile)?;
    let mut bill = Bill {
        prices,
        lines: Vec::new(),
    };
    bill.compute(knobs)?;
    bill.kubernetes(knobs)?;
    bill.redis(knobs)?;
    bill.database(knobs)?;
    bill.storage_and_messaging(&usage)?;
    let worker = bill.serverless_worker(knobs, &usage)?;
    bill.secrets(knobs)?;
    bill.network(knobs)?;
    bill.cdn(knobs, &usage)?;
    bill.cockpit(&usage)?;
    let total = round2(bill.lines.iter().map(|l| l.eur).sum());
    Ok(Estimate {
        prices_as_of: prices.as_of.clone(),
        usage_profile: usage_profile.to_string(),
        lines: bill.lines,
        total,
        serverless: worker,
    })
}

/// The lines so far, and the prices they are read from.
struct Bill<'a> {
    prices: &'a Prices,
    lines: Vec<Line>,
}

impl Bill<'_> {
    fn add(&mut self, component: &str, resource: String, eur: f64) {
        self.lines.push(Line {
            component: component.to_string(),
            resource,
            eur: round2(eur),
        });
    }

    fn price(&self, key: &str) -> Result<f64, String> {
        self.prices.get(key)
    }

    fn instance(&self, instance_type: &str) -> Result<f64, String> {
        self.price(&format!("instance.{instance_type}"))
    }

    fn instances(
        &mut self,
        component: &str,
        count: u32,
        instance_type: &str,
    ) -> Result<(), String> {
        let each = self.instance(instance_type)?;
        self.add(
            component,
            format!("{count}x {instance_type}"),
            f64::from(count) * each,
        );
        Ok(())
    }

    /// The combined instance, or API instances (scenario 9 moves the API to
    /// Kubernetes nodes and turns both off), and worker instances.
    fn compute(&mut self, knobs: &Knobs) -> Result<(), String> {
        if knobs.enable_combined_mode {
            self.instances(COMBINED, 1, &knobs.combined_instance_type)?;
        } else if knobs.api_instance_count > 0 {
            self.instances(API, knobs.api_instance_count, &knobs.api_instance_type)?;
        }
        if knobs.worker_instance_count > 0 {
            self.instances(
                WORKERS,
                knobs.worker_instance_count,
                &knobs.worker_instance_type,
            )?;
        }
        Ok(())
    }

    fn kubernetes(&mut self, knobs: &Knobs) -> Result<(), String> {
        if !knobs.enable_kubernetes {
            return Ok(());
        }
        let (min, max, t) = (
            knobs.kubernetes_min_nodes,
            knobs.kubernetes_max_nodes,
            &knobs.kubernetes_node_type,
        );
        let node = self.instance(t)?;
        self.add(
            KUBERNETES,
            "control plane (mutualised)".into(),
            self.price("kapsule.control_plane")?,
        );
        self.add(
            KUBERNETES,
            format!(
                "{min}x {t} nodes (autoscaled {min}..{max}: up to {:.2})",
                f64::from(max) * node
            ),
            f64::from(min) * node,
        );
        self.add(
            KUBERNETES,
            "LB-S for the API Service".into(),
            self.price("lb.LB-S")?,
        );
        Ok(())
    }

    /// Redis apart from the API hosts (the combined instance embeds one; on
    /// Kubernetes it is a StatefulSet, unless the managed one is used).
    fn redis(&mut self, knobs: &Knobs) -> Result<(), String> {
        if !knobs.enabled {
            return Ok(());
        }
        if knobs.use_managed_redis {
            let t = &knobs.managed_redis_node_type;
            let eur = self.price(&format!("redis.{t}"))?;
            self.add(REDIS, format!("managed {t}"), eur);
        } else if !knobs.enable_kubernetes {
            let t = &knobs.redis_instance_type;
            let eur = self.instance(t)?;
            self.add(REDIS, format!("self-hosted 1x {t}"), eur);
        }
        Ok(())
    }

    /// The nodes (two with HA), the volume beyond the 10 GB a node's price
    /// includes, and the read replicas, each with its own volume.
    fn database(&mut self, knobs: &Knobs) -> Result<(), String> {
        let t = &knobs.db_node_type;
        let nodes = if knobs.enable_ha { 2.0 } else { 1.0 };
        let node = self.price(&format!("database.{t}"))?;
        let extra_gb = knobs.volume_size_in_gb.saturating_sub(10);
        let volume = if extra_gb > 0 {
            f64::from(extra_gb) * self.price("database.volume_gb")?
        } else {
            0.0
        };
        let ha = if knobs.enable_ha { " HA (2 nodes)" } else { "" };
        self.add(DATABASE, format!("{t}{ha}"), nodes * node);
        if extra_gb > 0 {
            self.add(
                DATABASE,
                format!(
                    "volume {} GB ({extra_gb} beyond the 10 in the node price)",
                    knobs.volume_size_in_gb
                ),
                nodes * volume,
            );
        }
        let replicas = knobs.read_replica_count;
        if replicas > 0 {
            self.add(
                DATABASE,
                format!("{replicas}x read replica {t}"),
                f64::from(replicas) * (node + volume),
            );
        }
        Ok(())
    }

    fn storage_and_messaging(&mut self, usage: &Usage) -> Result<(), String> {
        self.add(
            STORAGE,
            format!("~{} GB", usage.stored_gb),
            usage.stored_gb * self.price("object_storage.gb")?,
        );
        // A photo: one send, one receive (or trigger pull) and one delete.
        let requests = usage.photos_per_month * 3.0;
        let free = self.price("sqs.free_requests")?;
        self.add(
            MESSAGING,
            format!(
                "~{:.0}K requests (first {:.0}M free)",
                requests / 1000.0,
                free / 1e6
            ),
            (requests - free).max(0.0) / 1e6 * self.price("sqs.million_requests")?,
        );
        Ok(())
    }

    fn serverless_worker(
        &mut self,
        knobs: &Knobs,
        usage: &Usage,
    ) -> Result<Option<Serverless>, String> {
        if !knobs.enable_serverless_worker {
            return Ok(None);
        }
        let s = serverless(knobs, usage, self.prices)?;
        self.add(
            SERVERLESS,
            format!(
                "{} mvCPU / {} MB, {:.0}K photos ({:.0}K within the free tier)",
                s.cpu_mvcpu,
                s.memory_mb,
                s.photos_per_month / 1000.0,
                s.free_tier_photos as f64 / 1000.0
            ),
            s.eur,
        );
        Ok(Some(s))
    }

    fn secrets(&mut self, knobs: &Knobs) -> Result<(), String> {
        let n = knobs.secret_count;
        let each = self.price("secret_manager.secret")?;
        self.add(SECRETS, format!("{n} secrets"), f64::from(n) * each);
        Ok(())
    }

    /// The public gateway, the bastion and the load balancer. The bastion
    /// is an instance only without a gateway (terraform/modules/networking:
    /// `bastion_instance = enable_bastion && !enable_public_gateway`); with
    /// one, SSH goes through the gateway's own bastion, in its price.
    fn network(&mut self, knobs: &Knobs) -> Result<(), String> {
        if knobs.enable_public_gateway {
            let t = &knobs.public_gateway_type;
            let eur = self.price(&format!("public_gateway.{t}"))?;
            self.add(GATEWAY, t.clone(), eur);
        }
        if knobs.enable_bastion && !knobs.enable_public_gateway {
            let t = &knobs.bastion_instance_type;
            let eur = self.instance(t)?;
            self.add(BASTION, t.clone(), eur);
        }
        if knobs.enable_load_balancer {
            let t = &knobs.lb_type;
            let eur = self.price(&format!("lb.{t}"))?;
            self.add(LB, t.clone(), eur);
        }
        Ok(())
    }

    fn cdn(&mut self, knobs: &Knobs, usage: &Usage) -> Result<(), String> {
        if !knobs.enable_cdn {
            return Ok(());
        }
        let plan = &knobs.edge_services_plan;
        let eur = cdn_month(self.prices, plan, usage.cdn_egress_gb)?;
        self.add(
            CDN,
            format!("{plan} plan, ~{} GB egress", usage.cdn_egress_gb),
            eur,
        );
        Ok(())
    }

    fn cockpit(&mut self, usage: &Usage) -> Result<(), String> {
        let samples = usage.custom_metric_samples_million;
        if samples > 0.0 {
            let each = self.price("cockpit.custom_metrics_million_samples")?;
            self.add(
                COCKPIT,
                format!("~{samples}M custom samples"),
                samples * each,
            );
        }
        Ok(())
    }
}

/// An Edge Services month: the plan, and the cache egress beyond what it
/// includes.
pub fn cdn_month(prices: &Prices, plan: &str, egress_gb: f64) -> Result<f64, String> {
    let included = prices.get("edge_services.included_egress_gb")?;
    Ok(prices.get(&format!("edge_services.{plan}"))?
        + (egress_gb - included).max(0.0) * prices.get("edge_services.egress_gb")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_type_is_an_error_naming_the_price() {
        let knobs = Knobs {
            combined_instance_type: "DEV9-Z".into(),
            ..Knobs::default()
        };
        let err = estimate(&knobs, "dev", &Prices::bundled()).unwrap_err();
        assert!(err.contains("instance.DEV9-Z"), "{err}");
    }
}
