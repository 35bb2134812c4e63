//! The cost estimator's view of the tree: the knobs ([`ciel_cost::Knobs`])
//! an environment gives the stack, with its `terraform.tfvars` (when the
//! operator has one) and scenario files applied, evaluated the way the other
//! checks evaluate module inputs. `scripts/cost` prints their price.

use crate::*;
use ciel_cost::{Knobs, MODULE_KNOBS, SECRET_COUNT};

/// The directory of environment `name`.
pub fn env_dir(name: &str) -> PathBuf {
    terraform_root().join("environments").join(name)
}

/// The scenario file that `arg` names in environment `env`: a number (`1`,
/// `01`), a file name with or without `.tfvars`, or a path.
pub fn scenario_file(env: &str, arg: &str) -> Result<PathBuf, String> {
    let as_path = Path::new(arg);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let dir = env_dir(env).join("scenarios");
    let files = files_with_ext(&dir, ".tfvars");
    let wanted = arg.trim_end_matches(".tfvars");
    let by_number = wanted.parse::<u32>().ok();
    files
        .iter()
        .find(|f| {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            stem == wanted
                || by_number.is_some_and(|n| {
                    stem.split('-').next().and_then(|p| p.parse::<u32>().ok()) == Some(n)
                })
        })
        .cloned()
        .ok_or_else(|| {
            let names: Vec<String> = files
                .iter()
                .filter_map(|f| f.file_stem()?.to_str().map(str::to_string))
                .collect();
            format!(
                "no scenario \"{arg}\" in {} (known: {})",
                dir.display(),
                names.join(", ")
            )
        })
}

/// The tfvars files Terraform would load for `env` with `scenarios`: the
/// operator's `terraform.tfvars` if present, then each scenario in order.
pub fn tfvars_files(env: &str, scenarios: &[String]) -> Result<Vec<PathBuf>, String> {
    let dir = env_dir(env);
    if !dir.join("main.tf").is_file() {
        return Err(format!(
            "no environment \"{env}\" ({} has no main.tf)",
            dir.display()
        ));
    }
    let mut files = Vec::new();
    let own = dir.join("terraform.tfvars");
    if own.is_file() {
        files.push(own);
    }
    for s in scenarios {
        files.push(scenario_file(env, s)?);
    }
    Ok(files)
}

/// The cost knobs of `env` with the tfvars `files` applied: the stack's
/// inputs, the few module inputs that carry a price, and the secrets count.
pub fn knobs(env: &str, files: &[PathBuf]) -> Result<Knobs, String> {
    let env = Env::load(&env_dir(env), files)?;
    let mut values = Vec::new();
    for name in Knobs::stack_names() {
        let value = to_json(&env.module_input("stack", &name)?)?;
        values.push((name, value));
    }
    for (knob, call, input) in MODULE_KNOBS {
        let value = to_json(&env.module_input(call, input)?)?;
        values.push((knob.to_string(), value));
    }
    let count = match env.module_local("secrets", "descriptions")? {
        Value::Object(map) => map.len(),
        other => {
            return Err(format!(
                "secrets' local.descriptions is not an object: {other}"
            ));
        }
    };
    values.push((SECRET_COUNT.to_string(), serde_json::json!(count)));
    Knobs::default().with(&values)
}

fn to_json(value: &Value) -> Result<Json, String> {
    serde_json::to_value(value).map_err(|e| format!("{value}: {e}"))
}
