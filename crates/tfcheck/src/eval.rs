//! Effective values: what a module receives in an environment, with tfvars
//! overlays, seen through the composition module (`terraform/stack`).
//!
//! An expression is evaluated with `hcl-rs` in a context that holds the
//! `var.*`, `local.*` and `module.*` values it refers to, and the Terraform
//! functions the tree uses on values ([`functions`]). A resource attribute is
//! not known offline: asking for one is an error, unless the environment was
//! given an [`Unknowns`] hook that stands in for it (the boot tests render
//! cloud-init with made-up keys and addresses).

pub use crate::funcs::functions;
use crate::*;
use std::rc::Rc;

/// One module instance in the chain root → stack → module: its directory and
/// the name of the call that instantiates it in the previous frame.
#[derive(Clone)]
struct Frame {
    tf: Rc<TfDir>,
    call: Option<String>,
}

/// Stands in for a resource attribute, given its address
/// (`scaleway_iam_api_key.registry_pull.secret_key`, `x.y[0].private_ips`).
pub type Unknowns = Box<dyn Fn(&str) -> Option<Value>>;

/// An environment with optional tfvars overlays (applied in order), able to
/// resolve the value a module receives for one of its variables.
pub struct Env {
    pub tf: TfDir,
    pub overrides: BTreeMap<String, Value>,
    pub label: String,
    frames: Vec<Frame>,
    unknowns: Option<Unknowns>,
}

/// How deep `local`/`var` chains may go before evaluation gives up (a cycle).
const MAX_DEPTH: usize = 32;

impl Env {
    pub fn load(env_dir: &Path, tfvars: &[PathBuf]) -> Result<Env, String> {
        let tf = TfDir::load(env_dir)?;
        let mut overrides = BTreeMap::new();
        let mut env_label = tf.name();
        for f in tfvars {
            let body = parse_file(f)?;
            for a in body.attributes() {
                let v = literal(a.expr())
                    .ok_or_else(|| format!("{}: \"{}\" is not a literal", short(f), a.key()))?;
                overrides.insert(a.key().to_string(), v);
            }
            env_label.push_str(&format!(" + {}", short(f)));
        }
        // The composition: a module call of the environment whose source
        // itself calls modules (terraform/stack).
        let mut frames = vec![Frame {
            tf: Rc::new(TfDir::load(env_dir)?),
            call: None,
        }];
        let mut composition = None;
        for (_, call) in tf.blocks("module") {
            let Some(Value::String(source)) = attr(call.body(), "source").and_then(literal) else {
                continue;
            };
            let inner = TfDir::load(&env_dir.join(source))?;
            if inner.blocks("module").next().is_some() {
                composition = Some((label(call, 0).unwrap_or_default().to_string(), inner));
            }
        }
        if let Some((call, inner)) = composition {
            frames.push(Frame {
                tf: Rc::new(inner),
                call: Some(call),
            });
        }
        Ok(Env {
            tf,
            overrides,
            label: env_label,
            frames,
            unknowns: None,
        })
    }

    /// Resource attributes get their value from `unknowns` instead of failing.
    pub fn with_unknowns(mut self, unknowns: Unknowns) -> Env {
        self.unknowns = Some(unknowns);
        self
    }

    /// The value of `local.<name>` inside module `call`.
    pub fn module_local(&self, call: &str, name: &str) -> Result<Value, String> {
        let chain = self.chain_into(call)?;
        let frame = chain.last().expect("chain_into pushes the module");
        let locals = frame.tf.locals();
        let expr = locals
            .get(name)
            .ok_or_else(|| format!("{}: module \"{call}\" has no local.{name}", self.label))?;
        eval_in(self, &chain, expr, 0)
    }

    /// The value of output `output` of the module called `call`.
    pub fn module_output(&self, call: &str, output: &str) -> Result<Value, String> {
        let caller = self.caller_of(call)?;
        module_output(self, caller, call, output, 0)
    }

    /// The value of an environment variable: tfvars overlay, else default.
    pub fn var(&self, name: &str) -> Result<Value, String> {
        var_in(self, &self.frames[..1], name, 0)
    }

    /// Resolves an expression of the environment's own files.
    pub fn resolve(&self, expr: &Expression) -> Result<Value, String> {
        eval_in(self, &self.frames[..1], expr, 0)
    }

    /// The frame chain ending at the frame that calls module `call`.
    fn caller_of(&self, call: &str) -> Result<&[Frame], String> {
        (0..self.frames.len())
            .rev()
            .find(|&i| self.frames[i].tf.block("module", &[call]).is_some())
            .map(|i| &self.frames[..=i])
            .ok_or_else(|| format!("{}: no module \"{call}\"", self.label))
    }

    /// The value module `call` receives for its variable `input`: the
    /// argument of the module block, else the module variable's default.
    pub fn module_input(&self, call: &str, input: &str) -> Result<Value, String> {
        let chain = self.chain_into(call)?;
        var_in(self, &chain, input, 0)
    }

    /// The frame chain ending inside module `call`.
    fn chain_into(&self, call: &str) -> Result<Vec<Frame>, String> {
        let caller = self.caller_of(call)?;
        let module = self.module_dir(call)?;
        let mut chain = caller.to_vec();
        chain.push(Frame {
            tf: Rc::new(module),
            call: Some(call.to_string()),
        });
        Ok(chain)
    }

    /// The parsed directory of the module called `call`.
    pub fn module_dir(&self, call: &str) -> Result<TfDir, String> {
        let caller = self.caller_of(call)?;
        let frame = caller.last().expect("a caller chain is never empty");
        let block = frame
            .tf
            .block("module", &[call])
            .expect("caller_of found the call");
        let Some(Value::String(source)) = attr(block.body(), "source").and_then(literal) else {
            return Err(format!(
                "{}: module \"{call}\" has no literal source",
                self.label
            ));
        };
        TfDir::load(&frame.tf.dir.join(source))
    }

    /// The value of `attribute` of a resource inside module `call`, when it
    /// can be computed from literals, variables and locals.
    pub fn module_resource_attr(
        &self,
        call: &str,
        resource: (&str, &str),
        attribute: &str,
    ) -> Result<Value, String> {
        let chain = self.chain_into(call)?;
        let module = &chain.last().expect("chain_into pushes the module").tf;
        let block = module
            .block("resource", &[resource.0, resource.1])
            .ok_or_else(|| {
                format!(
                    "{}: module \"{call}\" has no resource {}.{}",
                    self.label, resource.0, resource.1
                )
            })?;
        let Some(expr) = attr(block.body(), attribute) else {
            return Err(format!(
                "{}: {}.{} does not set \"{attribute}\"",
                self.label, resource.0, resource.1
            ));
        };
        eval_in(self, &chain, expr, 0)
    }
}

/// The value of `var.name` in the last frame of `chain`.
fn var_in(env: &Env, chain: &[Frame], name: &str, depth: usize) -> Result<Value, String> {
    let frame = chain.last().expect("chains are never empty");
    let vars = frame.tf.variables();
    let decl = vars
        .get(name)
        .ok_or_else(|| format!("{}: var.{name} is not declared", frame_label(env, chain)))?;
    let given = match &frame.call {
        None => env.overrides.get(name).cloned(),
        Some(call) => {
            let parent = &chain[..chain.len() - 1];
            let block = parent
                .last()
                .and_then(|p| p.tf.block("module", &[call]))
                .expect("a frame's call exists in its parent");
            match attr(block.body(), name) {
                Some(expr) => Some(eval_in(env, parent, expr, depth + 1)?),
                None => None,
            }
        }
    };
    let nullable = !matches!(
        attr(decl.body(), "nullable").and_then(literal),
        Some(Value::Bool(false))
    );
    match given {
        Some(v) if !v.is_null() || nullable => Ok(v),
        _ => {
            let default = attr(decl.body(), "default").ok_or_else(|| {
                format!(
                    "{}: var.{name} is not set and has no default",
                    frame_label(env, chain)
                )
            })?;
            literal(default).ok_or_else(|| {
                format!(
                    "{}: default of var.{name} is not a literal",
                    frame_label(env, chain)
                )
            })
        }
    }
}

/// Evaluates `expr` in the last frame of `chain`.
fn eval_in(env: &Env, chain: &[Frame], expr: &Expression, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{}: evaluation too deep (a cycle?)", env.label));
    }
    if let Some(v) = literal(expr) {
        return Ok(v);
    }
    let frame = chain.last().expect("chains are never empty");
    let mut vars = hcl::Map::new();
    let mut locals = hcl::Map::new();
    let mut others = hcl::Map::new();
    for r in references(expr) {
        let Some(name) = r.first_attr() else {
            continue;
        };
        match r.root.as_str() {
            "path" => {
                let dir = frame.tf.dir.display().to_string();
                let path = Value::Object(
                    [("module", &dir), ("root", &dir), ("cwd", &dir)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), Value::from(v.as_str())))
                        .collect(),
                );
                others.insert("path".into(), path);
            }
            "module" => {
                let Some(output) = r.attr(1) else { continue };
                let value = module_output(env, chain, name, output, depth + 1)?;
                insert_at(
                    &mut others,
                    "module",
                    &[Step::Attr(name.into()), Step::Attr(output.into())],
                    value,
                );
            }
            root if env.unknowns.is_some()
                && !matches!(root, "var" | "local" | "each" | "self") =>
            {
                let address = address(&r);
                let value =
                    (env.unknowns.as_ref().expect("checked"))(&address).ok_or_else(|| {
                        format!(
                            "{}: {address} is only known at apply time",
                            frame_label(env, chain)
                        )
                    })?;
                insert_at(&mut others, root, &r.steps, value);
            }
            "var" if !vars.contains_key(name) => {
                vars.insert(name.to_string(), var_in(env, chain, name, depth + 1)?);
            }
            "local" if !locals.contains_key(name) => {
                let all = frame.tf.locals();
                let l = all.get(name).ok_or_else(|| {
                    format!("{}: local.{name} is not declared", frame_label(env, chain))
                })?;
                locals.insert(name.to_string(), eval_in(env, chain, l, depth + 1)?);
            }
            "var" | "local" => {}
            other => {
                return Err(format!(
                    "{}: {} depends on {other}.{name}, which is only known at apply time",
                    frame_label(env, chain),
                    hcl::format::to_string(expr).unwrap_or_default().trim()
                ));
            }
        }
    }
    let mut ctx = functions();
    ctx.declare_var("var", Value::Object(vars));
    ctx.declare_var("local", Value::Object(locals));
    for (root, value) in others {
        ctx.declare_var(root, value);
    }
    expr.evaluate(&ctx).map_err(|e| {
        format!(
            "{}: cannot evaluate {}: {e}",
            frame_label(env, chain),
            hcl::format::to_string(expr).unwrap_or_default().trim()
        )
    })
}

/// The value of output `output` of the module called `call` from the last
/// frame of `chain`.
fn module_output(
    env: &Env,
    chain: &[Frame],
    call: &str,
    output: &str,
    depth: usize,
) -> Result<Value, String> {
    let frame = chain.last().expect("chains are never empty");
    let block = frame
        .tf
        .block("module", &[call])
        .ok_or_else(|| format!("{}: no module \"{call}\"", frame_label(env, chain)))?;
    let Some(Value::String(source)) = attr(block.body(), "source").and_then(literal) else {
        return Err(format!(
            "{}: module \"{call}\" has no literal source",
            env.label
        ));
    };
    let module = TfDir::load(&frame.tf.dir.join(source))?;
    let out = module
        .block("output", &[output])
        .and_then(|b| attr(b.body(), "value"))
        .cloned()
        .ok_or_else(|| format!("{}: module.{call}.{output} is not an output", env.label))?;
    let mut inner = chain.to_vec();
    inner.push(Frame {
        tf: Rc::new(module),
        call: Some(call.to_string()),
    });
    eval_in(env, &inner, &out, depth)
}

/// `root.a[0].b` for messages and for the [`Unknowns`] hook.
fn address(r: &Reference) -> String {
    let mut s = r.root.clone();
    for step in &r.steps {
        match step {
            Step::Attr(a) => {
                s.push('.');
                s.push_str(a);
            }
            Step::Index => s.push_str("[0]"),
            Step::Splat => s.push_str("[*]"),
        }
    }
    s
}

/// Puts `value` at `root` followed by `steps` in `map`: attributes become
/// object keys, an index or splat a one-element list.
fn insert_at(map: &mut hcl::Map<String, Value>, root: &str, steps: &[Step], value: Value) {
    fn go(slot: &mut Value, steps: &[Step], value: Value) {
        match steps.split_first() {
            None => *slot = value,
            Some((Step::Attr(a), rest)) => {
                if !matches!(slot, Value::Object(_)) {
                    *slot = Value::Object(hcl::Map::new());
                }
                if let Value::Object(o) = slot {
                    go(o.entry(a.clone()).or_insert(Value::Null), rest, value);
                }
            }
            Some((_, rest)) => {
                if !matches!(slot, Value::Array(a) if !a.is_empty()) {
                    *slot = Value::Array(vec![Value::Null]);
                }
                if let Value::Array(a) = slot {
                    go(&mut a[0], rest, value);
                }
            }
        }
    }
    go(
        map.entry(root.to_string()).or_insert(Value::Null),
        steps,
        value,
    );
}

fn frame_label(env: &Env, chain: &[Frame]) -> String {
    let path: Vec<&str> = chain.iter().filter_map(|f| f.call.as_deref()).collect();
    if path.is_empty() {
        env.label.clone()
    } else {
        format!("{} > module.{}", env.label, path.join(" > module."))
    }
}
