//! Check 9: what blocks an apply or breaks a deploy although every value is
//! well-typed (issue 24; evidence in terraform/README.md, review 2).
//!
//! - [`check_fqdn_names`]: a record name the provider returns fully
//!   qualified (TEM's DKIM and DMARC names) is used as returned, never glued
//!   to a suffix.
//! - [`check_workflow_vars`]: every `-var` a workflow passes is declared by
//!   every environment it may target (Terraform rejects an undeclared one).
//! - [`check_nullable_required`]: no required argument of an uncounted
//!   resource is fed a variable that may be null.
//! - [`check_image_not_in_triggers`]: the image tag reaches no host's
//!   replacement trigger or replace-forcing argument (a new image is rolled,
//!   not a reason to destroy every host at once).
//! - [`check_gateway_dependencies`]: hosts and node pools without a public
//!   IP wait for the gateway network, their only way out.

use crate::*;

/// Attributes the provider returns fully qualified with a trailing dot
/// (provider: `internal/services/tem/domain_test.go:39-40,111-112`).
pub const FQDN_ATTRIBUTES: &[(&str, &str)] = &[
    ("scaleway_tem_domain", "dkim_name"),
    ("scaleway_tem_domain", "dmarc_name"),
];

/// The variable that carries the image tag into a module.
const IMAGE_TAG_VAR: &str = "image_tag";

/// Arguments of an instance whose change does not replace it.
const IN_PLACE_ARGS: &[&str] = &["user_data", "tags", "name"];

/// A module call: the calling directory, the call's name, the called module.
struct Call<'a> {
    caller: &'a TfDir,
    name: String,
    block: &'a Block,
    module: PathBuf,
}

fn load_all(tf_root: &Path, errs: &mut Vec<String>) -> Vec<TfDir> {
    let mut dirs = Vec::new();
    for dir in tf_dirs(tf_root) {
        match TfDir::load(&dir) {
            Ok(tf) => dirs.push(tf),
            Err(e) => errs.push(e),
        }
    }
    dirs
}

fn calls(dirs: &[TfDir]) -> Vec<Call<'_>> {
    let mut out = Vec::new();
    for tf in dirs {
        for (_, block) in tf.blocks("module") {
            if let Some(Value::String(source)) = attr(block.body(), "source").and_then(literal) {
                let module = tf.dir.join(source);
                out.push(Call {
                    caller: tf,
                    name: label(block, 0).unwrap_or("?").to_string(),
                    block,
                    module: fs::canonicalize(&module).unwrap_or(module),
                });
            }
        }
    }
    out
}

fn same_dir(a: &Path, b: &Path) -> bool {
    fs::canonicalize(a).ok().as_deref() == Some(b) || a == b
}

fn resource_name(block: &Block) -> String {
    format!(
        "{}.{}",
        label(block, 0).unwrap_or("?"),
        label(block, 1).unwrap_or("?")
    )
}

fn is_bare_var(expr: &Expression, var: &str) -> bool {
    match expr {
        Expression::Traversal(t) => {
            matches!(&t.expr, Expression::Variable(v) if v.as_str() == "var")
                && t.operators.len() == 1
                && matches!(&t.operators[0], TraversalOperator::GetAttr(a) if a.as_str() == var)
        }
        Expression::Parenthesis(e) => is_bare_var(e, var),
        _ => false,
    }
}

fn reads_var(expr: &Expression, var: &str) -> bool {
    references(expr)
        .iter()
        .any(|r| r.root == "var" && r.first_attr() == Some(var))
}

fn reads_fqdn_attribute(expr: &Expression) -> Option<&'static str> {
    references(expr).iter().find_map(|r| {
        FQDN_ATTRIBUTES.iter().find_map(|(ty, a)| {
            (r.root == *ty && r.steps.iter().any(|s| *s == Step::Attr(a.to_string()))).then_some(*a)
        })
    })
}

/// Rule: names TEM returns fully qualified reach a record's `name` as they
/// are. Follows each output that exposes one through the module calls that
/// pass it on, and rejects any expression that does more than read it.
pub fn check_fqdn_names(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    let dirs = load_all(tf_root, &mut errs);
    let calls = calls(&dirs);
    // (module dir, output) exposing an FQDN attribute unchanged.
    let mut exposed: Vec<(PathBuf, String, &'static str)> = Vec::new();
    for tf in &dirs {
        for (path, body) in &tf.files {
            for_each_expr(body, &mut |expr, _| {
                if let (Some(a), false) = (reads_fqdn_attribute(expr), passes_through(expr)) {
                    errs.push(format!(
                        "{}: {a} is returned fully qualified (trailing dot); use it as returned, not inside {}",
                        short(path),
                        describe(expr)
                    ));
                }
            });
        }
        for (_, out) in tf.blocks("output") {
            if let Some(a) = attr(out.body(), "value").and_then(reads_fqdn_attribute) {
                let dir = fs::canonicalize(&tf.dir).unwrap_or(tf.dir.clone());
                exposed.push((dir, label(out, 0).unwrap_or("?").to_string(), a));
            }
        }
    }
    for (dir, output, a) in exposed {
        for call in calls.iter().filter(|c| c.module == dir) {
            for caller_call in &calls {
                if !same_dir(
                    &caller_call.caller.dir,
                    &fs::canonicalize(&call.caller.dir).unwrap_or(call.caller.dir.clone()),
                ) {
                    continue;
                }
                for arg in caller_call.block.body().attributes() {
                    let reads = references(arg.expr()).iter().any(|r| {
                        r.root == "module"
                            && r.first_attr() == Some(call.name.as_str())
                            && r.attr(1) == Some(output.as_str())
                    });
                    if !reads {
                        continue;
                    }
                    if !passes_through(arg.expr()) {
                        errs.push(format!(
                            "{}: module \"{}\" gets {} = {}, but {a} is returned fully qualified: pass it as returned",
                            call.caller.name(),
                            caller_call.name,
                            arg.key(),
                            describe(arg.expr())
                        ));
                        continue;
                    }
                    errs.extend(check_var_used_as_is(&caller_call.module, arg.key(), a));
                }
            }
        }
    }
    errs.sort();
    errs.dedup();
    errs
}

/// An expression that hands a value on unchanged (a reference, possibly
/// under `try(x, null)` or a conditional with a null branch).
fn passes_through(expr: &Expression) -> bool {
    match expr {
        Expression::Traversal(_) | Expression::Variable(_) | Expression::Null => true,
        Expression::Parenthesis(e) => passes_through(e),
        Expression::FuncCall(f) if f.name.name.as_str() == "try" => {
            f.args.iter().all(passes_through)
        }
        Expression::Conditional(c) => passes_through(&c.true_expr) && passes_through(&c.false_expr),
        _ => false,
    }
}

fn describe(expr: &Expression) -> &'static str {
    match expr {
        Expression::TemplateExpr(_) => "a string template",
        Expression::FuncCall(_) => "a function call",
        Expression::Operation(_) => "an operation",
        _ => "an expression",
    }
}

fn check_var_used_as_is(module: &Path, var: &str, a: &str) -> Vec<String> {
    let Ok(tf) = TfDir::load(module) else {
        return vec![format!("{}: cannot be loaded", module.display())];
    };
    let mut errs = Vec::new();
    for (path, body) in &tf.files {
        for block in body.blocks().filter(|b| b.identifier() == "resource") {
            for_each_expr(block.body(), &mut |expr, _| {
                if reads_var(expr, var) && !is_bare_var(expr, var) && !is_null_test(expr, var) {
                    errs.push(format!(
                        "{}: {} builds a value from var.{var} ({a}, returned fully qualified with a trailing dot): use var.{var} as it is",
                        short(path),
                        resource_name(block)
                    ));
                }
            });
        }
    }
    errs
}

fn is_null_test(expr: &Expression, var: &str) -> bool {
    matches!(expr, Expression::Operation(op) if matches!(op.as_ref(),
        Operation::Binary(b) if (is_bare_var(&b.lhs_expr, var) && matches!(b.rhs_expr, Expression::Null))))
}

/// Rule: every `-var NAME=...` in a workflow is declared by each environment
/// under `environments/` (the workflow picks one at run time).
pub fn check_workflow_vars(tf_root: &Path, workflows: &[PathBuf]) -> Vec<String> {
    let mut errs = Vec::new();
    let mut envs = Vec::new();
    for dir in tf_dirs(&tf_root.join("environments")) {
        match TfDir::load(&dir) {
            Ok(tf) => envs.push(tf),
            Err(e) => errs.push(e),
        }
    }
    for wf in workflows {
        let text = match fs::read_to_string(wf) {
            Ok(t) => t,
            Err(e) => {
                errs.push(format!("{}: {e}", wf.display()));
                continue;
            }
        };
        for (line_no, name) in cli_vars(&text) {
            for env in &envs {
                if !env.variables().contains_key(&name) {
                    errs.push(format!(
                        "{}:{line_no}: -var {name} is not declared by {} (Terraform: \"Value for undeclared variable\")",
                        wf.file_name().unwrap_or_default().to_string_lossy(),
                        env.name()
                    ));
                }
            }
        }
    }
    errs
}

/// (line, variable) for every `-var NAME=` / `-var "NAME=` / `-var='NAME=`.
pub fn cli_vars(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("-var") {
            let after = &rest[i + 4..];
            rest = after;
            if after.starts_with("-file")
                || after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            let arg = after
                .trim_start_matches([' ', '='])
                .trim_start_matches(['"', '\'']);
            let name: String = arg
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && arg[name.len()..].starts_with('=') {
                out.push((n + 1, name));
            }
        }
    }
    out
}

/// Rule: a required argument of a resource with neither `count` nor
/// `for_each` is not fed a variable that may be null: one whose default is
/// null, or that some module call feeds a possibly-null expression.
pub fn check_nullable_required(tf_root: &Path, schema: &Json) -> Vec<String> {
    let mut errs = Vec::new();
    let dirs = load_all(tf_root, &mut errs);
    let calls = calls(&dirs);
    for tf in &dirs {
        let dir = fs::canonicalize(&tf.dir).unwrap_or(tf.dir.clone());
        for (path, block) in tf.blocks("resource") {
            let body = block.body();
            if attr(body, "count").is_some() || attr(body, "for_each").is_some() {
                continue;
            }
            let Some(args) =
                schema["resources"][label(block, 0).unwrap_or("")]["arguments"].as_object()
            else {
                continue;
            };
            for a in body.attributes() {
                if args[a.key()]["required"] != Json::Bool(true) {
                    continue;
                }
                for r in references(a.expr()) {
                    let (true, Some(v)) = (r.root == "var", r.first_attr()) else {
                        continue;
                    };
                    if let Some(why) = var_may_be_null(tf, &dir, v, &calls, &dirs, 0) {
                        errs.push(format!(
                            "{}: {} needs {}, fed var.{v}, which may be null ({why}): count the resource on a plan-time flag",
                            short(path),
                            resource_name(block),
                            a.key()
                        ));
                    }
                }
            }
        }
    }
    errs
}

fn var_may_be_null(
    tf: &TfDir,
    dir: &Path,
    var: &str,
    calls: &[Call],
    dirs: &[TfDir],
    depth: usize,
) -> Option<String> {
    let block = tf.variables().get(var).copied()?;
    if matches!(
        attr(block.body(), "nullable").and_then(literal),
        Some(Value::Bool(false))
    ) {
        return None;
    }
    if matches!(attr(block.body(), "default"), Some(Expression::Null)) {
        return Some("its default is null".into());
    }
    for call in calls.iter().filter(|c| c.module == dir) {
        if let Some(arg) = attr(call.block.body(), var)
            && may_be_null(call.caller, arg, calls, dirs, depth + 1)
        {
            return Some(format!(
                "{} passes a possibly-null value",
                call.caller.name()
            ));
        }
    }
    None
}

/// Whether an expression of `tf` may evaluate to null: a null branch, a
/// `try(..., null)`, or a variable, local or module output that may be.
fn may_be_null(
    tf: &TfDir,
    expr: &Expression,
    calls: &[Call],
    dirs: &[TfDir],
    depth: usize,
) -> bool {
    if depth > 6 {
        return false;
    }
    let dir = fs::canonicalize(&tf.dir).unwrap_or(tf.dir.clone());
    match expr {
        Expression::Null => true,
        Expression::Parenthesis(e) => may_be_null(tf, e, calls, dirs, depth),
        Expression::Conditional(c) => {
            may_be_null(tf, &c.true_expr, calls, dirs, depth)
                || may_be_null(tf, &c.false_expr, calls, dirs, depth)
        }
        Expression::FuncCall(f) if f.name.name.as_str() == "try" => f
            .args
            .iter()
            .any(|a| may_be_null(tf, a, calls, dirs, depth)),
        Expression::Traversal(_) | Expression::Variable(_) => {
            let Some(r) = references(expr).into_iter().next() else {
                return false;
            };
            match (r.root.as_str(), r.first_attr()) {
                ("var", Some(v)) => var_may_be_null(tf, &dir, v, calls, dirs, depth).is_some(),
                ("local", Some(l)) => tf
                    .locals()
                    .get(l)
                    .is_some_and(|e| may_be_null(tf, e, calls, dirs, depth + 1)),
                ("module", Some(m)) => {
                    let Some(output) = r.attr(1) else {
                        return false;
                    };
                    let Some(call) = calls
                        .iter()
                        .find(|c| same_dir(&c.caller.dir, &dir) && c.name == m)
                    else {
                        return false;
                    };
                    let Some(module) = dirs.iter().find(|d| same_dir(&d.dir, &call.module)) else {
                        return false;
                    };
                    module
                        .block("output", &[output])
                        .and_then(|b| attr(b.body(), "value"))
                        .is_some_and(|e| may_be_null(module, e, calls, dirs, depth + 1))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Rule: no host's replacement depends on the image tag: neither the
/// `terraform_data` its `replace_triggered_by` names nor an argument that
/// replaces it (every one but `user_data`, `tags` and `name`).
pub fn check_image_not_in_triggers(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    for tf in load_all(tf_root, &mut errs) {
        let locals = tf.locals();
        let tainted = image_locals(&locals);
        let reaches_image = |expr: &Expression| {
            references(expr).iter().any(|r| {
                (r.root == "var" && r.first_attr() == Some(IMAGE_TAG_VAR))
                    || (r.root == "local" && r.first_attr().is_some_and(|l| tainted.contains(l)))
            })
        };
        for (path, block) in tf.blocks("resource") {
            if label(block, 0) != Some("scaleway_instance_server") {
                continue;
            }
            let body = block.body();
            for a in body.attributes() {
                if !IN_PLACE_ARGS.contains(&a.key()) && reaches_image(a.expr()) {
                    errs.push(format!(
                        "{}: {}'s {} depends on the image tag: every new image would replace the host",
                        short(path),
                        resource_name(block),
                        a.key()
                    ));
                }
            }
            for trigger in replace_triggers(body) {
                let Some(data) = tf.block("resource", &["terraform_data", &trigger]) else {
                    continue;
                };
                for key in ["input", "triggers_replace"] {
                    if attr(data.body(), key).is_some_and(reaches_image) {
                        errs.push(format!(
                            "{}: {} is replaced when terraform_data.{trigger} changes, and its {key} depends on the image tag: \
                             hash the configuration without the image (scripts/roll deploys images)",
                            short(path),
                            resource_name(block)
                        ));
                    }
                }
            }
        }
    }
    errs
}

/// Locals whose value depends on the image tag, through other locals.
fn image_locals(locals: &BTreeMap<String, &Expression>) -> BTreeSet<String> {
    let mut tainted = BTreeSet::new();
    loop {
        let before = tainted.len();
        for (name, expr) in locals {
            if references(expr).iter().any(|r| {
                (r.root == "var" && r.first_attr() == Some(IMAGE_TAG_VAR))
                    || (r.root == "local" && r.first_attr().is_some_and(|l| tainted.contains(l)))
            }) {
                tainted.insert(name.clone());
            }
        }
        if tainted.len() == before {
            return tainted;
        }
    }
}

fn replace_triggers(body: &Body) -> Vec<String> {
    body.blocks()
        .filter(|b| b.identifier() == "lifecycle")
        .filter_map(|b| attr(b.body(), "replace_triggered_by"))
        .flat_map(references)
        .filter(|r| r.root == "terraform_data")
        .filter_map(|r| r.first_attr().map(str::to_string))
        .collect()
}

/// Rule: an instance that may have no public IP, and a node pool with
/// `public_ip_disabled = true`, depends on the gateway network: directly,
/// or on a `terraform_data` holding a variable every module call feeds from
/// a gateway network.
pub fn check_gateway_dependencies(tf_root: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    let dirs = load_all(tf_root, &mut errs);
    let calls = calls(&dirs);
    for tf in &dirs {
        let dir = fs::canonicalize(&tf.dir).unwrap_or(tf.dir.clone());
        for (path, block) in tf.blocks("resource") {
            let body = block.body();
            let private = match label(block, 0) {
                Some("scaleway_instance_server") => match attr(body, "ip_id") {
                    None => true,
                    Some(e) => may_be_null(tf, e, &calls, &dirs, 0),
                },
                Some("scaleway_k8s_pool") => matches!(
                    attr(body, "public_ip_disabled").and_then(literal),
                    Some(Value::Bool(true))
                ),
                _ => false,
            };
            if !private {
                continue;
            }
            let waits = attr(body, "depends_on").is_some_and(|deps| {
                references(deps).iter().any(|r| match r.root.as_str() {
                    "scaleway_vpc_gateway_network" => true,
                    "terraform_data" => r
                        .first_attr()
                        .and_then(|n| tf.block("resource", &["terraform_data", n]))
                        .and_then(|d| attr(d.body(), "input"))
                        .is_some_and(|input| {
                            references(input).iter().any(|i| {
                                i.root == "var"
                                    && i.first_attr()
                                        .is_some_and(|v| fed_by_gateway(&dir, v, &calls))
                            })
                        }),
                    _ => false,
                })
            });
            if !waits {
                errs.push(format!(
                    "{}: {} has no public IP but does not depend on the gateway network, its only egress \
                     (cloud-init's apt install or the node's registration can run before the NAT exists)",
                    short(path),
                    resource_name(block)
                ));
            }
        }
    }
    errs
}

fn fed_by_gateway(module: &Path, var: &str, calls: &[Call]) -> bool {
    let mut feeding = calls.iter().filter(|c| c.module == module).peekable();
    feeding.peek().is_some()
        && feeding.all(|c| {
            attr(c.block.body(), var).is_some_and(|e| {
                references(e).iter().any(|r| {
                    r.root == "scaleway_vpc_gateway_network"
                        || (r.root == "module" && r.attr(1) == Some("gateway_network_id"))
                })
            })
        })
}
