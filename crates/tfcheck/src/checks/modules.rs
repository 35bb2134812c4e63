use crate::*;

const MODULE_META: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "depends_on",
    "providers",
];
const IGNORED_ROOTS: &[&str] = &["each", "count", "path", "self", "terraform"];

/// Check 2: module calls pass only declared variables and all required ones;
/// `module.X.Y` names a real output; `var.X`, `local.X`, `data.T.N` and
/// resource references are declared; every variable has a type and a
/// description and is used; every output has a description; variables and
/// outputs carrying credentials are `sensitive = true`.
pub fn check_modules(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    for dir in tf_dirs(tf_root) {
        let tf = match TfDir::load(&dir) {
            Ok(tf) => tf,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        let name = tf.name();
        let vars = tf.variables();
        let locals = tf.locals();

        for (v, block) in &vars {
            if attr(block.body(), "type").is_none() {
                errs.push(format!("{name}: variable \"{v}\" has no type"));
            }
            match attr(block.body(), "description").and_then(literal) {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                _ => errs.push(format!("{name}: variable \"{v}\" has no description")),
            }
        }
        for (kind, blocks) in [
            ("variable", tf.blocks("variable")),
            ("output", tf.blocks("output")),
        ] {
            for (_, block) in blocks {
                let n = label(block, 0).unwrap_or("?");
                let sensitive = matches!(
                    attr(block.body(), "sensitive").and_then(literal),
                    Some(Value::Bool(true))
                );
                if looks_secret(n) && !sensitive {
                    errs.push(format!(
                        "{name}: {kind} \"{n}\" holds a secret but is not sensitive = true"
                    ));
                }
            }
        }
        for (_, block) in tf.blocks("output") {
            if attr(block.body(), "description").is_none() {
                errs.push(format!(
                    "{name}: output \"{}\" has no description",
                    label(block, 0).unwrap_or("?")
                ));
            }
        }

        errs.extend(check_versions(&tf));

        // Module calls and their outputs.
        let mut module_outputs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (_, call) in tf.blocks("module") {
            let call_name = label(call, 0).unwrap_or("?").to_string();
            let Some(Value::String(source)) = attr(call.body(), "source").and_then(literal) else {
                errs.push(format!(
                    "{name}: module \"{call_name}\" has no literal source"
                ));
                continue;
            };
            let target = dir.join(&source);
            let module = match TfDir::load(&target) {
                Ok(m) if !m.files.is_empty() => m,
                _ => {
                    errs.push(format!(
                        "{name}: module \"{call_name}\" source \"{source}\" has no .tf files"
                    ));
                    continue;
                }
            };
            let declared = module.variables();
            let mut passed = BTreeSet::new();
            for a in call.body().attributes() {
                let key = a.key();
                if MODULE_META.contains(&key) {
                    continue;
                }
                passed.insert(key.to_string());
                if !declared.contains_key(key) {
                    errs.push(format!(
                        "{name}: module \"{call_name}\" passes \"{key}\", which {} does not declare",
                        module.name()
                    ));
                }
            }
            for (v, block) in &declared {
                if attr(block.body(), "default").is_none() && !passed.contains(v) {
                    errs.push(format!(
                        "{name}: module \"{call_name}\" misses required variable \"{v}\" of {}",
                        module.name()
                    ));
                }
            }
            module_outputs.insert(call_name, module.outputs());
        }

        // Declared resources and data sources.
        let resources: BTreeSet<(String, String)> = tf
            .blocks("resource")
            .filter_map(|(_, b)| Some((label(b, 0)?.to_string(), label(b, 1)?.to_string())))
            .collect();
        let datas: BTreeSet<(String, String)> = tf
            .blocks("data")
            .filter_map(|(_, b)| Some((label(b, 0)?.to_string(), label(b, 1)?.to_string())))
            .collect();
        let resource_types: BTreeSet<&str> = resources.iter().map(|(t, _)| t.as_str()).collect();

        for (path, body) in &tf.files {
            let file = short(path);
            let mut found = Vec::new();
            for_each_expr(body, &mut |expr, scope| {
                for r in references(expr) {
                    if !scope.contains(&r.root) {
                        found.push(r);
                    }
                }
            });
            for r in found {
                match r.root.as_str() {
                    "var" => match r.first_attr() {
                        Some(v) if vars.contains_key(v) => {}
                        Some(v) => errs.push(format!("{file}: var.{v} is not declared")),
                        None => {}
                    },
                    "local" => match r.first_attr() {
                        Some(l) if locals.contains_key(l) => {}
                        Some(l) => errs.push(format!("{file}: local.{l} is not declared")),
                        None => {}
                    },
                    "module" => {
                        let (Some(m), Some(out)) = (r.first_attr(), r.attr(1)) else {
                            continue;
                        };
                        match module_outputs.get(m) {
                            None => errs.push(format!("{file}: module.{m} is not a module call")),
                            Some(outs) if !outs.contains(out) => errs.push(format!(
                                "{file}: module.{m}.{out} is not an output of module \"{m}\""
                            )),
                            _ => {}
                        }
                    }
                    "data" => {
                        if let (Some(t), Some(n)) = (r.first_attr(), r.attr(1))
                            && !datas.contains(&(t.to_string(), n.to_string()))
                        {
                            errs.push(format!("{file}: data.{t}.{n} is not declared"));
                        }
                    }
                    root if IGNORED_ROOTS.contains(&root) => {}
                    root if root.starts_with("scaleway_")
                        || root.starts_with("random_")
                        || resource_types.contains(root) =>
                    {
                        if let Some(n) = r.first_attr()
                            && !resources.contains(&(root.to_string(), n.to_string()))
                        {
                            errs.push(format!("{file}: resource {root}.{n} is not declared"));
                        }
                    }
                    _ => {}
                }
            }
        }
        // Every variable is used somewhere other than its own validation.
        for v in vars.keys() {
            let used_elsewhere = tf.files.iter().any(|(_, body)| {
                body.blocks()
                    .filter(|b| !(b.identifier() == "variable" && label(b, 0) == Some(v.as_str())))
                    .any(|b| {
                        let mut hit = false;
                        for_each_expr(b.body(), &mut |expr, _| {
                            hit |= references(expr)
                                .iter()
                                .any(|r| r.root == "var" && r.first_attr() == Some(v.as_str()));
                        });
                        hit
                    })
            });
            if !used_elsewhere {
                errs.push(format!(
                    "{name}: variable \"{v}\" is declared but never used"
                ));
            }
        }
    }
    errs
}

/// Names that carry credentials: their variables and outputs must be sensitive.
fn looks_secret(name: &str) -> bool {
    const MARKERS: &[&str] = &[
        "password",
        "secret_key",
        "access_key",
        "token",
        "paseto",
        "database_url",
        "redis_url",
    ];
    MARKERS.iter().any(|m| name.contains(m))
}

/// Every provider a directory uses (by resource/data type prefix) is declared
/// in `required_providers` with a `>= x, < y` range, next to `required_version`.
fn check_versions(tf: &TfDir) -> Vec<String> {
    let mut errs = Vec::new();
    let name = tf.name();
    let used: BTreeSet<String> = tf
        .blocks("resource")
        .chain(tf.blocks("data"))
        .filter_map(|(_, b)| label(b, 0)?.split('_').next().map(str::to_string))
        // terraform_data is built into Terraform, not a provider's.
        .filter(|p| p != "terraform")
        .collect();
    let terraform_blocks: Vec<&Block> = tf.blocks("terraform").map(|(_, b)| b).collect();
    if !terraform_blocks
        .iter()
        .any(|b| attr(b.body(), "required_version").is_some())
    {
        errs.push(format!("{name}: no terraform.required_version"));
    }
    let providers: BTreeMap<String, Value> = terraform_blocks
        .iter()
        .flat_map(|b| b.body().blocks())
        .filter(|b| b.identifier() == "required_providers")
        .flat_map(|b| b.body().attributes())
        .filter_map(|a| Some((a.key().to_string(), literal(a.expr())?)))
        .collect();
    for p in used {
        match providers.get(&p) {
            None => errs.push(format!(
                "{name}: provider \"{p}\" is used but not in required_providers"
            )),
            Some(Value::Object(o)) => {
                let version = o.get("version").and_then(|v| v.as_str()).unwrap_or("");
                if !(version.contains(">=") && version.contains('<')) {
                    errs.push(format!(
                        "{name}: provider \"{p}\" version \"{version}\" is not pinned as \">= x, < y\""
                    ));
                }
            }
            Some(_) => errs.push(format!(
                "{name}: provider \"{p}\" requirement is not an object"
            )),
        }
    }
    errs
}
