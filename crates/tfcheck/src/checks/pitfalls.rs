//! Check 7: provider pitfalls that a schema check cannot see, each of which
//! once made an apply fail or deploy something that silently did not work
//! (issue 10; evidence in terraform/README.md).
//!
//! - `cloud_init` on an instance: the provider reads it only at create, so a
//!   changed template would plan an update that changes nothing on the host.
//!   Instances take `user_data = { "cloud-init" = ... }` and are replaced
//!   when the render changes.
//! - `private_ips[0]`: IPAM lists an instance's IPv6 address first.
//! - A managed Redis version Scaleway does not offer.

use crate::*;

/// Managed Redis versions Scaleway offers, from the provider's recorded API
/// answers (`redis/testdata/list-redis-clusters-basic.cassette.yaml`,
/// recorded 2026-08-17 in fr-par-1 without deprecated or disabled versions).
/// Update it from `scw redis version list` when Scaleway adds a version.
pub const OFFERED_REDIS_VERSIONS: &[&str] = &["8.6.3"];

/// Check 7: no `cloud_init` argument, no `private_ips[0]`, and in every
/// environment and dev scenario a managed Redis version Scaleway offers.
pub fn check_pitfalls(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    for dir in tf_dirs(tf_root) {
        let tf = match TfDir::load(&dir) {
            Ok(tf) => tf,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        for (path, block) in tf.blocks("resource") {
            if label(block, 0) == Some("scaleway_instance_server")
                && attr(block.body(), "cloud_init").is_some()
            {
                errs.push(format!(
                    "{}: scaleway_instance_server.{} sets cloud_init, which the provider reads only \
                     at create: use user_data = {{ \"cloud-init\" = ... }} and replace_triggered_by",
                    short(path),
                    label(block, 1).unwrap_or("?")
                ));
            }
        }
        // A text scan: the indexing may hide behind a for-expression variable
        // (`[for s in servers : s.private_ips[0].address]`).
        for (path, _) in &tf.files {
            let Ok(text) = fs::read_to_string(path) else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                let code = line.split('#').next().unwrap_or_default();
                let squeezed: String = code.split_whitespace().collect();
                if squeezed.contains("private_ips[") || squeezed.contains("private_ips.0") {
                    errs.push(format!(
                        "{}:{}: private_ips[...] may be the IPv6 address (IPAM lists it first): \
                         pick the IPv4 one, [for ip in x.private_ips : ip.address if !strcontains(ip.address, \":\")][0]",
                        short(path),
                        n + 1
                    ));
                }
            }
        }
    }
    errs.extend(check_redis_version(tf_root));
    errs
}

fn check_redis_version(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    for (env_dir, tfvars) in environment_cases(tf_root) {
        let env = match Env::load(&env_dir, &tfvars) {
            Ok(e) => e,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        match env.module_resource_attr("cache", ("scaleway_redis_cluster", "this"), "version") {
            Ok(Value::String(v)) if OFFERED_REDIS_VERSIONS.contains(&v.as_str()) => {}
            Ok(v) => errs.push(format!(
                "{}: managed Redis version {v} is not one Scaleway offers ({})",
                env.label,
                OFFERED_REDIS_VERSIONS.join(", ")
            )),
            Err(e) => errs.push(e),
        }
    }
    errs
}

/// Every environment alone, and dev with each of its scenario files.
pub fn environment_cases(tf_root: &Path) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut cases = Vec::new();
    for env_dir in tf_dirs(&tf_root.join("environments")) {
        cases.push((env_dir.clone(), Vec::new()));
        for scenario in files_with_ext(&env_dir.join("scenarios"), ".tfvars") {
            cases.push((env_dir.clone(), vec![scenario]));
        }
    }
    cases
}
