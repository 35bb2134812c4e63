//! deploy/k8s (scenario 9), checked offline: every overlay rendered with
//! `kubectl kustomize` and validated with `kubernetes-validate` against the
//! schemas of the Kubernetes version the kubernetes module deploys; the
//! manifests' rules (probes, limits, non-root, rollout, HPA, PDB, LB
//! annotations, the migration Job, Redis, NetworkPolicies); and their
//! environment against the configuration code, the check compose.yaml gets
//! (tests/api/deploy.rs). The tools come from scripts/services.sh
//! (ensure_k8s_tools); without them the checks are skipped with a note,
//! except under CI=true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::common::redis::TlsFiles;
use ciel::config::Config;
use yaml_serde::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn k8s() -> PathBuf {
    repo().join("deploy/k8s")
}

/// A tool from the venv scripts/services.sh installs, else from PATH.
fn tool(name: &str) -> Option<PathBuf> {
    let state = std::env::var("CIEL_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".local"));
    let venv = state.join("venv/bin").join(name);
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    match (tool("kubectl"), tool("kubernetes-validate")) {
        (Some(kubectl), Some(validate)) => Some((kubectl, validate)),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("kubectl or kubernetes-validate missing: scripts/services.sh installs them")
        }
        _ => {
            eprintln!("skipped: kubectl or kubernetes-validate missing (scripts/services.sh)");
            None
        }
    }
}

fn overlays() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(k8s().join("overlays"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("kustomization.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 2, "overlays: {dirs:?}");
    dirs
}

fn render(kubectl: &Path, dir: &Path) -> String {
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The Kubernetes version the kubernetes module deploys (its default),
/// as kubernetes-validate names it.
fn kapsule_version() -> String {
    let text =
        std::fs::read_to_string(repo().join("terraform/modules/kubernetes/variables.tf")).unwrap();
    let block = &text[text.find("variable \"kubernetes_version\"").unwrap()..];
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with("default"))
        .unwrap();
    let minor = line.split('"').nth(1).unwrap();
    format!("{minor}.0")
}

/// (success, output) of kubernetes-validate --strict on `yaml`.
fn validate(validator: &Path, yaml: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(crate::common::unique("ciel-k8s"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rendered.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(validator)
        .args(["--strict", "--quiet", "-k", &kapsule_version()])
        .arg(&file)
        .output()
        .expect("kubernetes-validate runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn docs(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| yaml_serde::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
}

fn get<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    find(docs, kind, name).unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `to` from `from`, relative: kustomize refuses absolute paths.
fn relative(from: &Path, to: &Path) -> String {
    let up = from.components().count() - 1;
    let down = to.strip_prefix("/").expect("an absolute path");
    format!("{}{}", "../".repeat(up), down.display())
}

#[test]
fn every_overlay_and_component_renders_and_validates_against_kapsules_version() {
    let Some((kubectl, validator)) = tools() else {
        return;
    };
    for overlay in overlays() {
        let rendered = render(&kubectl, &overlay);
        let (ok, out) = validate(&validator, &rendered);
        assert!(ok, "{} does not validate: {out}", overlay.display());
        assert!(docs(&rendered).len() >= 8, "{}", overlay.display());
    }
    // Each component on the base alone, so none is only checked through an
    // overlay that happens to use it.
    for component in ["worker", "managed-redis"] {
        let dir = std::env::temp_dir().join(crate::common::unique("ciel-k8s-component"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("kustomization.yaml"),
            format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                 resources: [\"{base}\"]\ncomponents: [\"{comp}\"]\n",
                base = relative(&dir, &k8s().join("base")),
                comp = relative(&dir, &k8s().join("components").join(component)),
            ),
        )
        .unwrap();
        let rendered = render(&kubectl, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        let (ok, out) = validate(&validator, &rendered);
        assert!(ok, "component {component} does not validate: {out}");
    }
    // The validator catches a manifest Kubernetes would refuse: an unknown
    // field, and a field of the wrong type.
    let dev = render(&kubectl, &k8s().join("overlays/dev"));
    let broken = dev.replacen("maxUnavailable: 0", "maxUnavailable: [0]", 1);
    assert_ne!(broken, dev);
    assert!(
        !validate(&validator, &broken).0,
        "a list as maxUnavailable passed"
    );
    let unknown = dev.replacen("readinessProbe:", "readinessProbes:", 1);
    assert!(!validate(&validator, &unknown).0, "an unknown field passed");
}

#[test]
fn the_manifests_follow_the_deployment_rules() {
    let Some((kubectl, _)) = tools() else {
        return;
    };
    for overlay in overlays() {
        let name = overlay.file_name().unwrap().to_string_lossy().into_owned();
        let all = docs(&render(&kubectl, &overlay));
        let api = get(&all, "Deployment", "ciel-api");
        let spec = &api["spec"];
        assert_eq!(
            s(&spec["strategy"]["rollingUpdate"]["maxUnavailable"]),
            "0",
            "{name}"
        );
        let pod = &spec["template"]["spec"];
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"],
            Value::Bool(true),
            "{name}"
        );
        let container = &pod["containers"][0];
        assert_eq!(s(&container["readinessProbe"]["httpGet"]["path"]), "/ready");
        assert_eq!(s(&container["livenessProbe"]["httpGet"]["path"]), "/health");
        for kind in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    !container["resources"][kind][resource].is_null(),
                    "{name}: no {kind}.{resource}"
                );
            }
        }
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], Value::Bool(true));
        assert_eq!(security["allowPrivilegeEscalation"], Value::Bool(false));
        assert_eq!(
            s(&container["image"])
                .rsplit_once(':')
                .unwrap()
                .0
                .rsplit('/')
                .next(),
            Some("ciel")
        );

        let hpa = get(&all, "HorizontalPodAutoscaler", "ciel-api");
        assert_eq!(s(&hpa["spec"]["scaleTargetRef"]["name"]), "ciel-api");
        let min: u64 = s(&hpa["spec"]["minReplicas"]).parse().unwrap();
        let pdb = get(&all, "PodDisruptionBudget", "ciel-api");
        let keep: u64 = s(&pdb["spec"]["minAvailable"]).parse().unwrap();
        assert!(
            keep >= 1 && keep < min,
            "{name}: PDB {keep} vs HPA min {min}"
        );
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"], spec["selector"]["matchLabels"],
            "{name}: the PDB selects the API"
        );

        let service = get(&all, "Service", "ciel-api");
        assert_eq!(s(&service["spec"]["type"]), "LoadBalancer");
        let annotations = &service["metadata"]["annotations"];
        assert_eq!(
            s(&annotations["service.beta.kubernetes.io/scw-loadbalancer-type"]),
            "LB-S"
        );
        assert_eq!(
            s(&annotations["service.beta.kubernetes.io/scw-loadbalancer-health-check-http-uri"]),
            "/ready"
        );

        let job = get(&all, "Job", "ciel-migrate");
        let migrate = &job["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(migrate["args"][0], Value::String("migrate".into()));
        assert_eq!(
            migrate["image"], container["image"],
            "{name}: migrate runs the API's image"
        );
        assert_eq!(
            s(&job["metadata"]["labels"]["app.kubernetes.io/component"]),
            "migrate",
            "deploy/k8s/rollout applies the Job first by this label"
        );

        let redis = find(&all, "StatefulSet", "redis");
        if name.contains("managed-redis") {
            assert!(
                redis.is_none(),
                "{name}: the managed Redis replaces the StatefulSet"
            );
            assert!(
                find(&all, "Deployment", "ciel-worker").is_some(),
                "{name}: workers on"
            );
        } else {
            let redis = redis.expect("a Redis StatefulSet");
            let command = redis["spec"]["template"]["spec"]["containers"][0]["command"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(s)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(command.contains("--maxmemory 384mb"), "{command}");
            assert!(command.contains("requirepass"), "{command}");
            assert!(command.contains("volatile-lru"), "{command}");
            // Only the API reaches Redis.
            let policy = get(&all, "NetworkPolicy", "redis-from-api-only");
            assert_eq!(
                s(&policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]),
                "redis"
            );
            let from = policy["spec"]["ingress"][0]["from"].as_sequence().unwrap();
            assert_eq!(from.len(), 1, "{name}: one source");
            assert_eq!(
                s(&from[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]),
                "ciel-api"
            );
            assert!(
                find(&all, "Deployment", "ciel-worker").is_none(),
                "{name}: workers off by default"
            );
        }
        let deny = get(&all, "NetworkPolicy", "default-deny-ingress");
        assert_eq!(
            deny["spec"]["podSelector"],
            Value::Mapping(Default::default())
        );
    }
}

/// Runs the configuration code on `env` and records what it reads
/// (tests/api/deploy.rs does the same for compose.yaml).
fn read_config(
    env: &BTreeMap<String, String>,
    load: impl Fn(&dyn Fn(&str) -> Option<String>) -> Result<(), String>,
) -> (BTreeSet<String>, Result<(), String>) {
    let read = Mutex::new(BTreeSet::new());
    let lookup = |var: &str| {
        read.lock().unwrap().insert(var.to_string());
        env.get(var).cloned()
    };
    let result = load(&lookup);
    (read.into_inner().unwrap(), result)
}

/// A value of the right shape for each key of the Secret ciel-env.
fn sample_secret(key: &str, tls: bool, ca: &Path) -> String {
    match key {
        "DATABASE_URL" | "DATABASE_READ_URL" => {
            "postgres://ciel_app:pw@172.16.0.5:5432/ciel?sslmode=require".into()
        }
        "REDIS_URL" if tls => "rediss://ciel:pw@172.16.0.6:6379/".into(),
        "REDIS_URL" => "redis://:pw@redis:6379/".into(),
        "S3_ENDPOINT" => "https://s3.fr-par.scw.cloud".into(),
        "S3_REGION" => "fr-par".into(),
        "S3_BUCKET" => "ciel-media-dev".into(),
        "S3_PUBLIC_ENDPOINT" => String::new(),
        "QUEUE_ENDPOINT" => "https://sqs.mnq.fr-par.scaleway.com".into(),
        "QUEUE_NAME" => "ciel-dev-media-jobs".into(),
        "QUEUE_DEAD_LETTER_NAME" => "ciel-dev-media-jobs-dlq".into(),
        "PASETO_ACCESS_KEY" => crate::common::ACCESS_KEY.into(),
        "PASETO_REFRESH_KEY" => crate::common::REFRESH_KEY.into(),
        // Outside a rotation Terraform writes them empty: unset to the app.
        "PASETO_ACCESS_KEY_PREVIOUS" | "PASETO_REFRESH_KEY_PREVIOUS" => String::new(),
        "TRUSTED_PROXIES" => "172.16.0.0/22,100.64.0.0/15".into(),
        "WORKER_VISIBILITY_TIMEOUT_SECS" => "960".into(),
        "REDIS_CA_PEM" | "SNS_TRUST_CHAIN_PEM" => std::fs::read_to_string(ca).unwrap(),
        "SNS_TOPIC_ARN" => "arn:scw:sns:fr-par:project-0000:ciel-dev-mail-events".into(),
        "SNS_CERT_URL_PREFIX" => "https://messaging.s3.fr-par.scw.cloud/".into(),
        "SMTP_URL" => "smtps://0000:key@smtp.tem.scaleway.com:2465".into(),
        "MAIL_FROM" => "Ciel <no-reply@mail.example.com>".into(),
        "APP_LINK_BASE_URL" => "https://api.example.com/app".into(),
        // Terraform writes them empty without push credentials: unset.
        key if key.starts_with("PUSH_") => String::new(),
        // Without the CDN Terraform writes them empty (S3_PUBLIC_ENDPOINT too).
        "CDN_PIPELINE_ID" | "CDN_PURGE_SECRET_KEY" => String::new(),
        "SIGNUP_MODE" => "invite".into(),
        _ => format!("sample-{}", key.to_lowercase()),
    }
}

/// The key of the Secret ciel-env that the container sees at `path`,
/// through one of its volume mounts.
fn mounted_secret_key(workload: &Value, container: &Value, path: &str) -> Result<String, String> {
    let (dir, file) = path
        .rsplit_once('/')
        .ok_or_else(|| format!("{path} is not a path"))?;
    let mount = container["volumeMounts"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|m| s(&m["mountPath"]) == dir)
        .ok_or_else(|| format!("nothing is mounted at {dir}"))?;
    let volume = workload["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == mount["name"])
        .ok_or_else(|| format!("no volume {}", s(&mount["name"])))?;
    if s(&volume["secret"]["secretName"]) != "ciel-env" {
        return Err(format!("{dir} is not the Secret ciel-env"));
    }
    volume["secret"]["items"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|i| s(&i["path"]) == file)
        .map(|i| s(&i["key"]))
        .ok_or_else(|| format!("ciel-env puts no key at {path}"))
}

/// The keys of Terraform's `kubernetes_env` output (terraform/stack).
fn terraform_secret_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("terraform/stack/outputs.tf")).unwrap();
    let block = &text[text.find("output \"kubernetes_env\"").unwrap()..];
    let block = &block[..block.find("\n}\n").unwrap()];
    let mut keys: BTreeSet<String> = block
        .lines()
        .filter_map(|l| {
            l.trim()
                .split_once(" = ")
                .map(|(k, _)| k.trim().to_string())
        })
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    // merge()'s optional part: `{ DATABASE_READ_URL = ... }`.
    if block.contains("{ DATABASE_READ_URL =") {
        keys.insert("DATABASE_READ_URL".into());
    }
    keys
}

#[test]
fn the_manifests_environment_is_what_the_binary_reads() {
    let Some((kubectl, _)) = tools() else {
        return;
    };
    let tls = TlsFiles::generate();
    let ca_path = tls.ca();
    let terraform_keys = terraform_secret_keys();
    assert!(terraform_keys.contains("DATABASE_URL") && terraform_keys.contains("REDIS_PASSWORD"));
    let mut seen = BTreeSet::new();
    for overlay in overlays() {
        let name = overlay.file_name().unwrap().to_string_lossy().into_owned();
        for doc in docs(&render(&kubectl, &overlay)) {
            let kind = s(&doc["kind"]);
            if !["Deployment", "Job", "StatefulSet"].contains(&kind.as_str()) {
                continue;
            }
            let workload = s(&doc["metadata"]["name"]);
            for container in doc["spec"]["template"]["spec"]["containers"]
                .as_sequence()
                .unwrap()
                .iter()
                // The app's containers; the agents read their own variables.
                .filter(|c| s(&c["image"]).contains("/ciel:"))
            {
                let mut env = BTreeMap::new();
                // Variable -> the ciel-env key it reads.
                let mut keys = BTreeMap::new();
                let uses_tls = container["env"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|e| e["name"].as_str() == Some("REDIS_CA_CERT"));
                for var in container["env"].as_sequence().unwrap() {
                    let var_name = s(&var["name"]);
                    let secret = &var["valueFrom"]["secretKeyRef"];
                    let value = if !secret.is_null() {
                        assert_eq!(
                            s(&secret["name"]),
                            "ciel-env",
                            "{name}/{workload}/{var_name}"
                        );
                        let key = s(&secret["key"]);
                        assert!(
                            terraform_keys.contains(&key),
                            "{name}/{workload}: {var_name} reads ciel-env key {key}, which Terraform's kubernetes_env does not hold"
                        );
                        keys.insert(var_name.clone(), key.clone());
                        sample_secret(&key, uses_tls, &ca_path)
                    } else if var_name == "REDIS_CA_CERT" || var_name == "SNS_TRUST_CHAIN" {
                        let key = mounted_secret_key(&doc, container, &s(&var["value"]))
                            .unwrap_or_else(|e| panic!("{name}/{workload}/{var_name}: {e}"));
                        assert!(
                            terraform_keys.contains(&key),
                            "{name}/{workload}: {var_name} is ciel-env key {key}, which Terraform's kubernetes_env does not hold"
                        );
                        // Mounted from ciel-env; here, a real PEM.
                        ca_path.display().to_string()
                    } else {
                        s(&var["value"])
                    };
                    env.insert(var_name, value);
                }
                if kind == "StatefulSet" {
                    // Redis, not ciel: only its password, from Terraform.
                    assert_eq!(env.keys().collect::<Vec<_>>(), ["REDIS_PASSWORD"]);
                    continue;
                }
                let args: Vec<String> = container["args"]
                    .as_sequence()
                    .map(|a| a.iter().map(s).collect())
                    .unwrap_or_default();
                let (what, (read, result)) =
                    if args.first().map(String::as_str) == Some("migrate") {
                        (
                            "migrate".to_string(),
                            read_config(&env, |lookup| {
                                Config::database_from_lookup(lookup)
                                    .map(drop)
                                    .map_err(|e| e.to_string())
                            }),
                        )
                    } else {
                        let mode = env.get("APP_MODE").cloned().unwrap_or_else(|| {
                            panic!("{name}/{workload}: no APP_MODE and no command")
                        });
                        let reading = read_config(&env, |lookup| {
                            let config = Config::from_lookup(lookup).map_err(|e| e.to_string())?;
                            assert_eq!(config.mode.as_str(), mode);
                            Ok(())
                        });
                        (mode, reading)
                    };
                if let Err(e) = result {
                    panic!("{name}/{workload} ({what}) would not start: {e}");
                }
                let mut read = read;
                if what == "api" {
                    // With Terraform's enable_cdn, ciel-env holds the CDN's
                    // URL and its purge settings: the API refuses to start
                    // with the one and not the others.
                    let mut cdn = env.clone();
                    for (var, key) in &keys {
                        match key.as_str() {
                            "S3_PUBLIC_ENDPOINT" => {
                                cdn.insert(var.clone(), "https://media.example.com".into())
                            }
                            "CDN_PIPELINE_ID" => cdn
                                .insert(var.clone(), "11111111-2222-4333-8444-555555555555".into()),
                            "CDN_PURGE_SECRET_KEY" => {
                                cdn.insert(var.clone(), "purge-secret".into())
                            }
                            _ => None,
                        };
                    }
                    let (cdn_read, result) = read_config(&cdn, |lookup| {
                        let config = Config::from_lookup(lookup).map_err(|e| e.to_string())?;
                        let api = config.api.expect("api mode");
                        assert!(
                            api.cdn_purge.is_some(),
                            "{name}/{workload}: no purge settings"
                        );
                        Ok(())
                    });
                    if let Err(e) = result {
                        panic!("{name}/{workload} (api) would not start with the CDN on: {e}");
                    }
                    read.extend(cdn_read);
                }
                for var in env.keys() {
                    assert!(
                        read.contains(var) || var == "RUST_LOG",
                        "{name}/{workload} ({what}) sets {var}, which that mode never reads"
                    );
                }
                seen.insert(what);
            }
        }
    }
    let expected: BTreeSet<String> = ["api", "migrate", "worker"].map(String::from).into();
    assert_eq!(seen, expected);
}

/// Kinds that live outside a namespace.
const CLUSTER_SCOPED: &[&str] = &["Namespace", "ClusterRole", "ClusterRoleBinding"];

fn pod_spec(doc: &Value) -> Option<&Value> {
    match s(&doc["kind"]).as_str() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some(&doc["spec"]["template"]["spec"])
        }
        _ => None,
    }
}

fn pod_labels(doc: &Value) -> Option<&yaml_serde::Mapping> {
    doc["spec"]["template"]["metadata"]["labels"].as_mapping()
}

/// The rules a rendered overlay must keep (review 2, items 3, 7, 13, 21):
/// every namespaced object in `namespace`, no bare image name, an image
/// pull secret on every pod, no `replicas` on a Deployment an HPA scales,
/// and a `preStop` on every pod a Service sends traffic to.
fn rendered_rules(all: &[Value], namespace: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let id = |d: &Value| format!("{} {}", s(&d["kind"]), s(&d["metadata"]["name"]));
    let hpa_targets: BTreeSet<String> = all
        .iter()
        .filter(|d| s(&d["kind"]) == "HorizontalPodAutoscaler")
        .map(|d| s(&d["spec"]["scaleTargetRef"]["name"]))
        .collect();
    let selectors: Vec<&yaml_serde::Mapping> = all
        .iter()
        .filter(|d| s(&d["kind"]) == "Service")
        .filter_map(|d| d["spec"]["selector"].as_mapping())
        .collect();
    for doc in all {
        let kind = s(&doc["kind"]);
        // Every scraper presents the metrics token, never the admin token.
        for config in doc["data"]
            .as_mapping()
            .into_iter()
            .flat_map(|d| d.values())
        {
            let config = config.as_str().unwrap_or_default();
            if !config.contains("prometheus.scrape") {
                continue;
            }
            let bearer: Vec<&str> = config
                .lines()
                .filter_map(|l| l.trim().strip_prefix("bearer_token"))
                .map(|v| v.trim().trim_start_matches('=').trim())
                .collect();
            if bearer != ["sys.env(\"METRICS_TOKEN\")"] || config.contains("ADMIN_TOKEN") {
                errs.push(format!(
                    "{} scrapes with {bearer:?}, not METRICS_TOKEN",
                    id(doc)
                ));
            }
        }
        if !CLUSTER_SCOPED.contains(&kind.as_str())
            && doc["metadata"]["namespace"].as_str() != Some(namespace)
        {
            errs.push(format!("{} is not in namespace {namespace}", id(doc)));
        }
        if kind == "Deployment"
            && hpa_targets.contains(&s(&doc["metadata"]["name"]))
            && !doc["spec"]["replicas"].is_null()
        {
            errs.push(format!("{} sets replicas, which its HPA owns", id(doc)));
        }
        let Some(pod) = pod_spec(doc) else {
            continue;
        };
        if pod["imagePullSecrets"]
            .as_sequence()
            .is_none_or(|s| s.is_empty())
        {
            errs.push(format!("{} has no imagePullSecrets", id(doc)));
        }
        let containers = pod["containers"].as_sequence().cloned().unwrap_or_default();
        for c in &containers {
            // Issue 25, finding 12: the moderation credential is the API's.
            let admin = c["env"].as_sequence().into_iter().flatten().any(|e| {
                e["name"].as_str() == Some("ADMIN_TOKEN")
                    || e["valueFrom"]["secretKeyRef"]["key"].as_str() == Some("ADMIN_TOKEN")
            });
            if admin && s(&doc["metadata"]["name"]) != "ciel-api" {
                errs.push(format!(
                    "{} holds ADMIN_TOKEN, which is the API's alone",
                    id(doc)
                ));
            }
            let image = s(&c["image"]);
            let name = image.rsplit_once(':').map_or(image.as_str(), |(n, _)| n);
            if !name.contains('/') {
                errs.push(format!("{} runs the bare image {image}", id(doc)));
            }
        }
        let served = pod_labels(doc).is_some_and(|labels| {
            selectors
                .iter()
                .any(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
        });
        if served
            && containers
                .iter()
                .any(|c| c["lifecycle"]["preStop"].is_null())
        {
            errs.push(format!(
                "{} is served by a Service but has no preStop",
                id(doc)
            ));
        }
    }
    errs
}

#[test]
fn every_overlay_keeps_the_rendered_rules() {
    let Some((kubectl, _)) = tools() else {
        return;
    };
    for overlay in overlays() {
        let all = docs(&render(&kubectl, &overlay));
        let errs = rendered_rules(&all, "ciel");
        assert!(errs.is_empty(), "{}: {errs:#?}", overlay.display());
        let api = get(&all, "Deployment", "ciel-api");
        let env = api["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_sequence()
            .unwrap();
        let proxies = env
            .iter()
            .find(|e| s(&e["name"]) == "TRUSTED_PROXIES")
            .unwrap();
        assert_eq!(
            s(&proxies["valueFrom"]["secretKeyRef"]["key"]),
            "TRUSTED_PROXIES",
            "the private network's CIDR comes from Terraform"
        );
        let service = get(&all, "Service", "ciel-api");
        let annotations = &service["metadata"]["annotations"];
        assert_eq!(
            s(&annotations["service.beta.kubernetes.io/scw-loadbalancer-id"]),
            "CIEL_LB_ID",
            "deploy/k8s/rollout fills in Terraform's LB"
        );
        assert!(
            s(&annotations["service.beta.kubernetes.io/scw-loadbalancer-certificate-ids"])
                .starts_with("443:")
        );
        let ports: Vec<String> = service["spec"]["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| s(&p["port"]))
            .collect();
        assert_eq!(ports, ["443"], "HTTPS only");
    }
}

#[test]
fn the_rendered_rules_catch_each_broken_manifest() {
    let good = r#"
apiVersion: apps/v1
kind: Deployment
metadata: { name: ciel-api, namespace: ciel }
spec:
  template:
    metadata: { labels: { app: api } }
    spec:
      imagePullSecrets: [{ name: ciel-registry }]
      containers:
        - name: api
          image: rg.fr-par.scw.cloud/ns/ciel:1
          lifecycle: { preStop: { sleep: { seconds: 10 } } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ciel-worker, namespace: ciel }
spec:
  template:
    spec:
      imagePullSecrets: [{ name: ciel-registry }]
      containers:
        - name: worker
          image: rg.fr-par.scw.cloud/ns/ciel:1
          env:
            - name: METRICS_TOKEN
              valueFrom: { secretKeyRef: { name: ciel-env, key: METRICS_TOKEN } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: ciel-alloy, namespace: ciel }
data:
  config.alloy: |
    prometheus.scrape "ciel" {
      bearer_token    = sys.env("METRICS_TOKEN")
    }
---
apiVersion: v1
kind: Service
metadata: { name: ciel-api, namespace: ciel }
spec: { selector: { app: api } }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: ciel-api, namespace: ciel }
spec: { scaleTargetRef: { name: ciel-api } }
"#;
    assert_eq!(rendered_rules(&docs(good), "ciel"), Vec::<String>::new());
    for (from, to, needle) in [
        (
            "metadata: { name: ciel-api, namespace: ciel }\nspec:\n  template",
            "metadata: { name: ciel-api }\nspec:\n  template",
            "Deployment ciel-api is not in namespace ciel",
        ),
        (
            "image: rg.fr-par.scw.cloud/ns/ciel:1",
            "image: ciel",
            "runs the bare image ciel",
        ),
        (
            "      imagePullSecrets: [{ name: ciel-registry }]\n",
            "",
            "has no imagePullSecrets",
        ),
        (
            "spec:\n  template:",
            "spec:\n  replicas: 2\n  template:",
            "sets replicas, which its HPA owns",
        ),
        (
            "          lifecycle: { preStop: { sleep: { seconds: 10 } } }\n",
            "",
            "served by a Service but has no preStop",
        ),
        (
            "key: METRICS_TOKEN } }",
            "key: ADMIN_TOKEN } }",
            "Deployment ciel-worker holds ADMIN_TOKEN",
        ),
        (
            "bearer_token    = sys.env(\"METRICS_TOKEN\")",
            "bearer_token    = sys.env(\"ADMIN_TOKEN\")",
            "ConfigMap ciel-alloy scrapes with",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        let errs = rendered_rules(&docs(&good.replacen(from, to, 1)), "ciel");
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{needle}: {errs:?}"
        );
    }
}
