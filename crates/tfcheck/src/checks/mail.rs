use crate::*;

use super::env_wiring::follow;

/// Check 8: account mail. The SMTP key's IAM policy grants only
/// Transactional Email permission sets; `SMTP_URL` is kept in Secret
/// Manager; the DNS module writes SPF, DKIM, MX and DMARC records and
/// validates the TEM domain only after them; the serverless container gets
/// `SMTP_URL` as a secret (never plain) and the worker instances' env holds
/// it, while the API's does not (the API never sends mail).
pub fn check_mail(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    let load = |dir: &str, errs: &mut Vec<String>| match TfDir::load(&tf_root.join(dir)) {
        Ok(t) => Some(t),
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let resources = |tf: &TfDir, kind: &str| -> Vec<(String, Block)> {
        tf.blocks("resource")
            .map(|(_, b)| b)
            .filter(|b| label(b, 0) == Some(kind))
            .map(|b| (label(b, 1).unwrap_or("?").to_string(), b.clone()))
            .collect()
    };

    if let Some(mail) = load("modules/mail", &mut errs) {
        let name = mail.name();
        for kind in [
            "scaleway_tem_domain",
            "scaleway_iam_application",
            "scaleway_iam_api_key",
            "scaleway_secret_version",
        ] {
            if resources(&mail, kind).is_empty() {
                errs.push(format!("{name}: no {kind}"));
            }
        }
        let policies = resources(&mail, "scaleway_iam_policy");
        if policies.is_empty() {
            errs.push(format!("{name}: no scaleway_iam_policy for the SMTP key"));
        }
        for (id, policy) in &policies {
            let rules: Vec<&Block> = policy
                .body()
                .blocks()
                .filter(|b| b.identifier() == "rule")
                .collect();
            for rule in rules {
                let sets = attr(rule.body(), "permission_set_names").and_then(literal);
                match sets {
                    Some(Value::Array(sets)) if !sets.is_empty() => {
                        for set in sets {
                            match set {
                                Value::String(s) if s.starts_with("TransactionalEmail") => {}
                                other => errs.push(format!(
                                    "{name}: scaleway_iam_policy.{id} grants {other}, more than Transactional Email"
                                )),
                            }
                        }
                    }
                    _ => errs.push(format!(
                        "{name}: scaleway_iam_policy.{id}: permission_set_names is not a literal list"
                    )),
                }
                if attr(rule.body(), "organization_id").is_some() {
                    errs.push(format!(
                        "{name}: scaleway_iam_policy.{id} is organisation-wide; scope it to the project"
                    ));
                }
            }
        }
        let stored = resources(&mail, "scaleway_secret_version")
            .iter()
            .any(|(_, b)| {
                attr(b.body(), "data")
                    .map(|d| {
                        references(d)
                            .iter()
                            .any(|r| r.root == "local" && r.first_attr() == Some("smtp_url"))
                    })
                    .unwrap_or(false)
            });
        if !stored {
            errs.push(format!(
                "{name}: SMTP_URL (local.smtp_url) is not stored in a scaleway_secret_version"
            ));
        }
    }

    if let Some(dns) = load("modules/dns", &mut errs) {
        let name = dns.name();
        let records = resources(&dns, "scaleway_domain_record");
        let has = |kind: &str, what: &dyn Fn(&Block) -> bool| {
            records.iter().any(|(_, b)| {
                attr(b.body(), "type").and_then(literal) == Some(Value::String(kind.into()))
                    && what(b)
            })
        };
        let text_of = |b: &Block, key: &str| {
            attr(b.body(), key)
                .map(|e| format!("{e:?}"))
                .unwrap_or_default()
        };
        let mail_records = [
            (
                "SPF",
                has("TXT", &|b| text_of(b, "data").contains("v=spf1")),
            ),
            ("DKIM", has("TXT", &|b| text_of(b, "name").contains("dkim"))),
            (
                "DMARC",
                has("TXT", &|b| text_of(b, "name").contains("dmarc")),
            ),
            ("MX", has("MX", &|_| true)),
        ];
        for (what, present) in mail_records {
            if !present {
                errs.push(format!("{name}: no {what} record for the sending domain"));
            }
        }
        let validations = resources(&dns, "scaleway_tem_domain_validation");
        if validations.is_empty() {
            errs.push(format!("{name}: no scaleway_tem_domain_validation"));
        }
        for (id, v) in validations {
            let after: Vec<String> = attr(v.body(), "depends_on")
                .map(|d| {
                    references(d)
                        .iter()
                        .filter_map(|r| r.attr(0).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for (rid, r) in &records {
                let mailish =
                    text_of(r, "data").contains("mail") || text_of(r, "name").contains("mail");
                if mailish && !after.contains(rid) {
                    errs.push(format!(
                        "{name}: scaleway_tem_domain_validation.{id} does not wait for scaleway_domain_record.{rid}"
                    ));
                }
            }
        }
    }

    if let Some(compute) = load("modules/compute", &mut errs) {
        let name = compute.name();
        let locals = compute.locals();
        for (id, c) in resources(&compute, "scaleway_container") {
            let plain = attr(c.body(), "environment_variables")
                .map(object_keys)
                .unwrap_or_default();
            let secret = attr(c.body(), "secret_environment_variables")
                .map(object_keys)
                .unwrap_or_default();
            if plain.contains("SMTP_URL") {
                errs.push(format!(
                    "{name}: scaleway_container.{id}: SMTP_URL is a plain environment variable (it holds the SMTP password)"
                ));
            }
            if !secret.contains("SMTP_URL") {
                errs.push(format!(
                    "{name}: scaleway_container.{id}: secret_environment_variables lacks SMTP_URL"
                ));
            }
        }
        let keys_of = |local: &str| -> BTreeSet<String> {
            let mut keys = BTreeSet::new();
            if let Some(e) = locals.get(local) {
                let e = follow(e, &locals);
                keys.extend(object_keys(e));
                if let Expression::FuncCall(f) = e {
                    for a in &f.args {
                        keys.extend(object_keys(follow(a, &locals)));
                    }
                }
            }
            keys
        };
        if !keys_of("worker_env").contains("SMTP_URL") {
            errs.push(format!("{name}: the worker instances' env lacks SMTP_URL"));
        }
        if keys_of("api_env").contains("SMTP_URL") {
            errs.push(format!(
                "{name}: the API's env holds SMTP_URL; only the workers send mail"
            ));
        }
    }
    errs
}
