//! The stack's inputs that cost money: one struct, read from tfvars values
//! by its own `Deserialize`, so the list of knobs is written once.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The stack's inputs that cost money, with the stack's defaults (the seed's
/// dev table), plus the few module defaults that carry a price. Any other
/// variable is ignored: most cost nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Knobs {
    pub enable_load_balancer: bool,
    pub lb_type: String,
    pub enable_bastion: bool,
    pub bastion_instance_type: String,
    pub enable_public_gateway: bool,
    pub public_gateway_type: String,
    pub db_node_type: String,
    pub enable_ha: bool,
    pub volume_size_in_gb: u32,
    pub read_replica_count: u32,
    /// The cache module's `enabled`: a Redis apart from the API hosts.
    pub enabled: bool,
    pub use_managed_redis: bool,
    pub managed_redis_node_type: String,
    pub redis_instance_type: String,
    pub enable_combined_mode: bool,
    pub combined_instance_type: String,
    pub api_instance_count: u32,
    pub api_instance_type: String,
    pub worker_instance_count: u32,
    pub worker_instance_type: String,
    pub enable_serverless_worker: bool,
    pub serverless_worker_min_scale: u32,
    pub serverless_worker_max_scale: u32,
    /// mvCPU, as the provider takes it.
    pub serverless_worker_cpu: u32,
    /// MB.
    pub serverless_worker_memory: u32,
    pub enable_cdn: bool,
    pub edge_services_plan: String,
    pub enable_alerts: bool,
    /// Counted from the secrets module's `descriptions`, not a variable.
    pub secret_count: u32,
    pub enable_kubernetes: bool,
    pub kubernetes_node_type: String,
    pub kubernetes_min_nodes: u32,
    pub kubernetes_max_nodes: u32,
}

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

/// The knob that no variable sets: tfcheck counts the secrets module's
/// `local.descriptions`.
pub const SECRET_COUNT: &str = "secret_count";

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
            volume_size_in_gb: 10,
            read_replica_count: 0,
            enabled: false,
            use_managed_redis: false,
            managed_redis_node_type: "RED1-micro".into(),
            redis_instance_type: "DEV1-S".into(),
            enable_combined_mode: true,
            combined_instance_type: "DEV1-M".into(),
            api_instance_count: 0,
            api_instance_type: "DEV1-S".into(),
            worker_instance_count: 0,
            worker_instance_type: "DEV1-M".into(),
            enable_serverless_worker: true,
            serverless_worker_min_scale: 0,
            serverless_worker_max_scale: 3,
            serverless_worker_cpu: 1000,
            serverless_worker_memory: 512,
            enable_cdn: false,
            edge_services_plan: "starter".into(),
            enable_alerts: false,
            secret_count: 7,
            enable_kubernetes: false,
            kubernetes_node_type: "DEV1-L".into(),
            kubernetes_min_nodes: 2,
            kubernetes_max_nodes: 4,
        }
    }
}

impl Knobs {
    /// Every knob's name: the struct's fields.
    pub fn names() -> Vec<String> {
        match Knobs::default().to_json() {
            Value::Object(map) => map.keys().cloned().collect(),
            _ => unreachable!("a struct serialises to an object"),
        }
    }

    /// The knobs the stack module takes as variables of the same name.
    pub fn stack_names() -> Vec<String> {
        Knobs::names()
            .into_iter()
            .filter(|name| name != SECRET_COUNT && !MODULE_KNOBS.iter().any(|(k, ..)| k == name))
            .collect()
    }

    /// These knobs with `overlay` (tfvars values, in order) applied. Names
    /// that are not knobs are skipped; a value of the wrong type is an error
    /// naming the knob.
    pub fn with<N: AsRef<str>>(&self, overlay: &[(N, Value)]) -> Result<Knobs, String> {
        overlay
            .iter()
            .try_fold(self.clone(), |knobs, (name, value)| {
                knobs.set(name.as_ref(), value)
            })
    }

    fn set(self, name: &str, value: &Value) -> Result<Knobs, String> {
        let mut doc = self.to_json();
        doc[name] = value.clone();
        serde_json::from_value(doc).map_err(|e| format!("{name} = {value}: {e}"))
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("knobs serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_knob_of_the_wrong_type_is_an_error() {
        let err = Knobs::default()
            .with(&[("enable_ha", json!("yes"))])
            .unwrap_err();
        assert!(err.contains("enable_ha"), "{err}");
        let err = Knobs::default()
            .with(&[("api_instance_count", json!(-1))])
            .unwrap_err();
        assert!(err.contains("api_instance_count"), "{err}");
    }

    #[test]
    fn an_overlay_sets_knobs_and_skips_other_variables() {
        let knobs = Knobs::default()
            .with(&[
                ("api_instance_count", json!(2)),
                ("cdn_subdomain", json!("media")),
                ("enable_ha", json!(true)),
            ])
            .unwrap();
        assert_eq!(knobs.api_instance_count, 2);
        assert!(knobs.enable_ha);
        assert_eq!(
            Knobs {
                api_instance_count: 0,
                enable_ha: false,
                ..knobs
            },
            Knobs::default()
        );
    }

    #[test]
    fn stack_names_leave_out_module_and_counted_knobs() {
        let stack = Knobs::stack_names();
        assert_eq!(stack.len() + MODULE_KNOBS.len() + 1, Knobs::names().len());
        assert!(stack.iter().any(|n| n == "enable_load_balancer"));
        assert!(
            !stack
                .iter()
                .any(|n| n == "edge_services_plan" || n == SECRET_COUNT)
        );
    }
}
