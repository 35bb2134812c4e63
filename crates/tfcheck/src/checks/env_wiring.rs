use crate::*;

/// Check 5: the serverless container's environment holds no `REDIS_URL`,
/// `QUEUE_*` or `PASETO_*`, has the DB + S3 secrets and
/// `APP_MODE=serverless-worker`; the combined and API instances render a
/// cloud-init template from an env map holding every `api_rows` name with
/// `APP_MODE=api`; worker instances get `APP_MODE=worker` and no Redis/PASETO.
/// `holders` are (variable, used by) rows: "API only" and "API with CDN"
/// are in the API's env and in no worker's (instances or container), "Both"
/// in the API's, the worker instances' and the container's secrets. Which
/// of the conditional ones a configuration really gets is for the renders
/// (the boot tests).
pub fn check_env_wiring(
    tf_root: &Path,
    api_rows: &[&str],
    serverless_secrets: &[&str],
    holders: &[(&str, &str)],
) -> Vec<String> {
    let mut errs = Vec::new();
    let dir = tf_root.join("modules/compute");
    let tf = match TfDir::load(&dir) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let name = tf.name();
    let locals = tf.locals();
    let forbidden =
        |k: &str| k == "REDIS_URL" || k.starts_with("QUEUE_") || k.starts_with("PASETO_");

    // Serverless container.
    let containers: Vec<&Block> = tf
        .blocks("resource")
        .map(|(_, b)| b)
        .filter(|b| label(b, 0) == Some("scaleway_container"))
        .collect();
    if containers.is_empty() {
        errs.push(format!("{name}: no scaleway_container resource"));
    }
    let mut container_keys: Vec<(String, BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    for c in containers {
        let id = format!("{name}: scaleway_container.{}", label(c, 1).unwrap_or("?"));
        let secret = attr(c.body(), "secret_environment_variables");
        let plain = attr(c.body(), "environment_variables");
        let secret_keys = secret.map(object_keys).unwrap_or_default();
        let plain_keys = plain.map(object_keys).unwrap_or_default();
        if secret.is_none() {
            errs.push(format!("{id} sets no secret_environment_variables"));
        }
        for k in secret_keys.iter().filter(|k| forbidden(k)) {
            errs.push(format!(
                "{id}: secret_environment_variables holds {k} (serverless-worker gets no REDIS_URL, QUEUE_* or PASETO_*)"
            ));
        }
        for k in plain_keys.iter().filter(|k| forbidden(k)) {
            errs.push(format!(
                "{id}: environment_variables holds {k} (serverless-worker gets no REDIS_URL, QUEUE_* or PASETO_*)"
            ));
        }
        for k in serverless_secrets {
            if !secret_keys.contains(*k) {
                errs.push(format!("{id}: secret_environment_variables lacks {k}"));
            }
            if plain_keys.contains(*k) {
                errs.push(format!(
                    "{id}: {k} must be a secret environment variable, not a plain one"
                ));
            }
        }
        container_keys.push((id.clone(), secret_keys.clone(), plain_keys.clone()));
        match plain
            .and_then(|p| object_get(p, "APP_MODE"))
            .and_then(literal)
        {
            Some(Value::String(m)) if m == "serverless-worker" => {}
            other => errs.push(format!(
                "{id}: APP_MODE must be \"serverless-worker\", found {other:?}"
            )),
        }
    }

    // Instances: user_data = { "cloud-init" = <a templatefile(path, vars)
    // call, possibly through locals and a for expression> } with vars holding
    // `env` (possibly inside merge(local.common, {...})).
    let instance_env = |resource: &str, errs: &mut Vec<String>| -> Option<BTreeSet<String>> {
        let id = format!("{name}: scaleway_instance_server.{resource}");
        let Some(block) = tf.block("resource", &["scaleway_instance_server", resource]) else {
            errs.push(format!("{id} does not exist"));
            return None;
        };
        let rendered = attr(block.body(), "user_data")
            .and_then(|u| object_get(u, "cloud-init"))
            .map(|e| follow(e, &locals));
        let Some(Expression::FuncCall(call)) = rendered else {
            errs.push(format!(
                "{id}: user_data[\"cloud-init\"] is not a templatefile(...) call"
            ));
            return None;
        };
        if call.name.name.as_str() != "templatefile" || call.args.len() != 2 {
            errs.push(format!(
                "{id}: user_data[\"cloud-init\"] is not a templatefile(...) call"
            ));
            return None;
        }
        // The template must exist and interpolate `env`.
        let tpl_path = match follow(&call.args[0], &locals) {
            Expression::TemplateExpr(t) => Template::from_expr(t).ok().map(|tpl| {
                tpl.elements()
                    .iter()
                    .map(|e| match e {
                        Element::Literal(s) => s.clone(),
                        _ => String::new(),
                    })
                    .collect::<String>()
            }),
            Expression::String(s) => Some(s.clone()),
            _ => None,
        };
        match tpl_path.map(|p| dir.join(p.trim_start_matches('/'))) {
            Some(p) => match fs::read_to_string(&p).map(|t| t.parse::<Template>()) {
                Ok(Ok(tpl)) => {
                    let mut refs = Vec::new();
                    collect_template_refs(&tpl, &mut refs);
                    if !refs.iter().any(|r| r.root == "env") {
                        errs.push(format!("{id}: template {} never uses `env`", short(&p)));
                    }
                }
                Ok(Err(e)) => {
                    errs.push(format!("{id}: template {} does not parse: {e}", short(&p)))
                }
                Err(e) => errs.push(format!("{id}: template {}: {e}", short(&p))),
            },
            None => errs.push(format!("{id}: template path is not a literal")),
        }
        let Some(env_expr) = get_through_locals(&call.args[1], "env", &locals) else {
            errs.push(format!("{id}: templatefile vars have no `env`"));
            return None;
        };
        let env_expr = match references(env_expr).as_slice() {
            [r] if r.root == "local" && r.steps.len() == 1 => {
                let l = r.first_attr().unwrap_or_default();
                match locals.get(l) {
                    Some(e) => *e,
                    None => {
                        errs.push(format!("{id}: env = local.{l}, which is not declared"));
                        return None;
                    }
                }
            }
            _ => env_expr,
        };
        let mode = object_get(env_expr, "APP_MODE").and_then(literal);
        let mut keys = object_keys(env_expr);
        if let Some(Value::String(m)) = mode {
            keys.insert(format!("APP_MODE={m}"));
        }
        Some(keys)
    };

    let api_only = |used_by: &str| used_by == "API only" || used_by == "API with CDN";
    for resource in ["combined", "api"] {
        let id = format!("{name}: scaleway_instance_server.{resource}");
        if let Some(keys) = instance_env(resource, &mut errs) {
            let held = holders
                .iter()
                .filter(|(_, used_by)| api_only(used_by) || *used_by == "Both")
                .map(|(k, _)| k);
            for k in api_rows.iter().chain(held) {
                if !keys.contains(*k) {
                    errs.push(format!("{id}: the API env lacks {k}"));
                }
            }
            if !keys.contains("APP_MODE=api") {
                errs.push(format!("{id}: APP_MODE must be \"api\""));
            }
        }
    }
    if let Some(keys) = instance_env("worker", &mut errs) {
        let id = format!("{name}: scaleway_instance_server.worker");
        for k in keys
            .iter()
            .filter(|k| *k == "REDIS_URL" || k.starts_with("PASETO_"))
        {
            errs.push(format!("{id}: worker env holds {k}"));
        }
        if !keys.contains("APP_MODE=worker") {
            errs.push(format!("{id}: APP_MODE must be \"worker\""));
        }
        for (k, used_by) in holders {
            if api_only(used_by) && keys.contains(*k) {
                errs.push(format!(
                    "{id}: worker env holds {k}, which is the API's alone"
                ));
            }
            if *used_by == "Both" && !keys.contains(*k) {
                errs.push(format!("{id}: worker env lacks {k}"));
            }
        }
    }
    for (id, secret_keys, plain_keys) in &container_keys {
        for (k, used_by) in holders {
            if api_only(used_by) && (secret_keys.contains(*k) || plain_keys.contains(*k)) {
                errs.push(format!("{id}: holds {k}, which is the API's alone"));
            }
            if *used_by == "Both" && !secret_keys.contains(*k) {
                errs.push(format!("{id}: secret_environment_variables lacks {k}"));
            }
        }
    }
    errs
}

/// Follows `local.X` (and `local.X[i]`) to the local's expression, and a
/// `[for ...]` expression to its value expression.
pub(crate) fn follow<'a>(
    expr: &'a Expression,
    locals: &BTreeMap<String, &'a Expression>,
) -> &'a Expression {
    let mut expr = expr;
    for _ in 0..16 {
        expr = match expr {
            Expression::Traversal(t) => match (&t.expr, t.operators.first()) {
                (Expression::Variable(v), Some(TraversalOperator::GetAttr(l)))
                    if v.as_str() == "local"
                        && t.operators[1..]
                            .iter()
                            .all(|o| matches!(o, TraversalOperator::Index(_))) =>
                {
                    match locals.get(l.as_str()) {
                        Some(e) => e,
                        None => return expr,
                    }
                }
                _ => return expr,
            },
            Expression::ForExpr(f) => &f.value_expr,
            Expression::Parenthesis(e) => e,
            _ => return expr,
        };
    }
    expr
}

/// `object_get` that also looks into `merge(...)` arguments given as locals.
pub(crate) fn get_through_locals<'a>(
    expr: &'a Expression,
    key: &str,
    locals: &BTreeMap<String, &'a Expression>,
) -> Option<&'a Expression> {
    match follow(expr, locals) {
        Expression::FuncCall(f) if f.name.name.as_str() == "merge" => f
            .args
            .iter()
            .rev()
            .find_map(|a| get_through_locals(a, key, locals)),
        other => object_get(other, key),
    }
}
