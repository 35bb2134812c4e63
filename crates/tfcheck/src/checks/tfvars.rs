use crate::*;

/// Check 3: every `*.tfvars` / `*.tfvars.example` file under an environment
/// sets only variables that environment declares, with literal values whose
/// kind matches a primitive declared type.
pub fn check_tfvars(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    let envs = tf_root.join("environments");
    let mut files = files_with_ext(&envs, ".tfvars");
    files.extend(files_with_ext(&envs, ".tfvars.example"));
    if files.is_empty() {
        errs.push(format!("{}: no tfvars files found", short(&envs)));
    }
    for file in files {
        // The environment is the nearest ancestor directory with .tf files.
        let Some(env_dir) = file.ancestors().skip(1).find(|d| {
            files_with_ext(d, ".tf")
                .iter()
                .any(|f| f.parent() == Some(d))
        }) else {
            errs.push(format!("{}: not inside an environment", short(&file)));
            continue;
        };
        let env = match TfDir::load(env_dir) {
            Ok(e) => e,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        let vars = env.variables();
        let body = match parse_file(&file) {
            Ok(b) => b,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        let name = short(&file);
        for b in body.blocks() {
            errs.push(format!("{name}: unexpected block \"{}\"", b.identifier()));
        }
        for a in body.attributes() {
            let key = a.key();
            let Some(decl) = vars.get(key) else {
                errs.push(format!(
                    "{name}: sets \"{key}\", which {} does not declare",
                    env.name()
                ));
                continue;
            };
            let Some(value) = literal(a.expr()) else {
                errs.push(format!("{name}: \"{key}\" is not a literal value"));
                continue;
            };
            if let Some(typ) = attr(decl.body(), "type")
                && let Some(problem) = type_mismatch(typ, &value)
            {
                errs.push(format!("{name}: \"{key}\" {problem}"));
            }
        }
    }
    errs
}

fn type_mismatch(typ: &Expression, value: &Value) -> Option<String> {
    let ok = match typ {
        Expression::Variable(v) => match v.as_str() {
            "string" => matches!(value, Value::String(_)),
            "number" => matches!(value, Value::Number(_)),
            "bool" => matches!(value, Value::Bool(_)),
            _ => true,
        },
        Expression::FuncCall(f) if ["list", "set"].contains(&f.name.name.as_str()) => {
            matches!(value, Value::Array(_))
        }
        Expression::FuncCall(f) if f.name.name.as_str() == "map" => {
            matches!(value, Value::Object(_))
        }
        _ => true,
    };
    (!ok && !value.is_null()).then(|| format!("has value {value} but is declared {typ}"))
}
