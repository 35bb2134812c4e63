//! The cloud-init of every host, rendered for every environment and dev
//! scenario with the values the modules pass (see the module's docs).

use crate::checks::pitfalls::environment_cases;
use crate::eval::{Env, Unknowns};
use crate::load::short;
use hcl::Value;
use std::path::{Path, PathBuf};

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

/// What the renders name the CDN's pipeline (`scaleway_edge_services_pipeline.id`).
pub const FAKE_PIPELINE_ID: &str = "11111111-2222-4333-8444-555555555555";

/// The stand-in of the generated ADMIN_TOKEN: `secret` with a mark of its
/// own, so that a check can tell where the admin token went from where the
/// metrics token did (every other generated secret is `secret` itself).
pub fn admin_token_stand_in(secret: &str) -> String {
    format!("admin-{secret}")
}

/// The stand-in of the generated METRICS_TOKEN (see [`admin_token_stand_in`]).
pub fn metrics_token_stand_in(secret: &str) -> String {
    format!("metrics-{secret}")
}

/// Stand-ins for the attributes only an apply knows.
fn fake(secret: String) -> Unknowns {
    Box::new(move |address: &str| {
        let last = address.rsplit('.').next().unwrap_or_default();
        let v = match last {
            "result" if address.starts_with("random_password.admin_token") => {
                Value::from(admin_token_stand_in(&secret))
            }
            "result" if address.starts_with("random_password.metrics_token") => {
                Value::from(metrics_token_stand_in(&secret))
            }
            "id" if address.starts_with("scaleway_edge_services_pipeline") => {
                Value::from(FAKE_PIPELINE_ID)
            }
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
    load_env(env_dir, tfvars)?
        .with_unknowns(fake(secret.to_string()))
        .module_output("stack", "kubernetes_env")
}

/// The environment with its `terraform.tfvars.example` under `tfvars`: what
/// every operator sets (the project, the image tag, which have no default).
/// The case keeps the name of `tfvars` alone.
fn load_env(env_dir: &Path, tfvars: &[PathBuf]) -> Result<Env, String> {
    let example = env_dir.join("terraform.tfvars.example");
    if !example.is_file() {
        return Env::load(env_dir, tfvars);
    }
    let files: Vec<PathBuf> = std::iter::once(example.clone())
        .chain(tfvars.iter().cloned())
        .collect();
    let mut env = Env::load(env_dir, &files)?;
    env.label = env
        .label
        .replacen(&format!(" + {}", short(&example)), "", 1);
    Ok(env)
}

/// Renders every template of one environment with `tfvars` overlays.
pub fn render_case(
    env_dir: &Path,
    tfvars: &[PathBuf],
    secret: &str,
) -> Result<Vec<Rendered>, String> {
    let env = load_env(env_dir, tfvars)?.with_unknowns(fake(secret.to_string()));
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
