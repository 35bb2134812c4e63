//! Effective values: what a module receives in an environment, with tfvars overlays.

use crate::*;

/// An environment with optional tfvars overlays (applied in order), able to
/// resolve the value a module receives for one of its variables.
pub struct Env {
    pub tf: TfDir,
    pub overrides: BTreeMap<String, Value>,
    pub label: String,
}

impl Env {
    pub fn load(env_dir: &Path, tfvars: &[PathBuf]) -> Result<Env, String> {
        let tf = TfDir::load(env_dir)?;
        let mut overrides = BTreeMap::new();
        let mut label = tf.name();
        for f in tfvars {
            let body = parse_file(f)?;
            for a in body.attributes() {
                let v = literal(a.expr())
                    .ok_or_else(|| format!("{}: \"{}\" is not a literal", short(f), a.key()))?;
                overrides.insert(a.key().to_string(), v);
            }
            label.push_str(&format!(" + {}", short(f)));
        }
        Ok(Env {
            tf,
            overrides,
            label,
        })
    }

    /// The value of an environment variable: tfvars overlay, else default.
    pub fn var(&self, name: &str) -> Result<Value, String> {
        if let Some(v) = self.overrides.get(name) {
            return Ok(v.clone());
        }
        let vars = self.tf.variables();
        let decl = vars
            .get(name)
            .ok_or_else(|| format!("{}: var.{name} is not declared", self.label))?;
        let default = attr(decl.body(), "default")
            .ok_or_else(|| format!("{}: var.{name} has no default", self.label))?;
        literal(default)
            .ok_or_else(|| format!("{}: default of var.{name} is not a literal", self.label))
    }

    /// Resolves a simple expression in the environment: a literal or `var.X`.
    pub fn resolve(&self, expr: &Expression) -> Result<Value, String> {
        if let Some(v) = literal(expr) {
            return Ok(v);
        }
        if let Expression::Traversal(t) = expr
            && let (Expression::Variable(root), [TraversalOperator::GetAttr(name)]) =
                (&t.expr, t.operators.as_slice())
            && root.as_str() == "var"
        {
            return self.var(name.as_str());
        }
        Err(format!(
            "{}: expression {} is neither a literal nor var.X",
            self.label,
            hcl::format::to_string(expr).unwrap_or_default().trim()
        ))
    }

    /// The value module `call` receives for its variable `input`: the
    /// argument of the module block, else the module variable's default.
    pub fn module_input(&self, call: &str, input: &str) -> Result<Value, String> {
        let block = self
            .tf
            .block("module", &[call])
            .ok_or_else(|| format!("{}: no module \"{call}\"", self.label))?;
        if let Some(expr) = attr(block.body(), input) {
            return self.resolve(expr);
        }
        let module = self.module_dir(call)?;
        let vars = module.variables();
        let decl = vars.get(input).ok_or_else(|| {
            format!(
                "{}: module \"{call}\" has no variable \"{input}\"",
                self.label
            )
        })?;
        attr(decl.body(), "default")
            .and_then(literal)
            .ok_or_else(|| {
                format!(
                    "{}: module \"{call}\" does not set \"{input}\" and it has no default",
                    self.label
                )
            })
    }

    /// The parsed directory of the module called `call`.
    pub fn module_dir(&self, call: &str) -> Result<TfDir, String> {
        let block = self
            .tf
            .block("module", &[call])
            .ok_or_else(|| format!("{}: no module \"{call}\"", self.label))?;
        let Some(Value::String(source)) = attr(block.body(), "source").and_then(literal) else {
            return Err(format!(
                "{}: module \"{call}\" has no literal source",
                self.label
            ));
        };
        TfDir::load(&self.tf.dir.join(source))
    }

    /// The value of `attribute` of a resource inside module `call`, when it
    /// is a literal or a module variable.
    pub fn module_resource_attr(
        &self,
        call: &str,
        resource: (&str, &str),
        attribute: &str,
    ) -> Result<Value, String> {
        let module = self.module_dir(call)?;
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
        if let Some(v) = literal(expr) {
            return Ok(v);
        }
        let refs = references(expr);
        match refs.as_slice() {
            [r] if r.root == "var" && r.steps.len() == 1 => {
                self.module_input(call, r.first_attr().unwrap_or_default())
            }
            _ => Err(format!(
                "{}: {}.{}.{attribute} is neither a literal nor a module variable",
                self.label, resource.0, resource.1
            )),
        }
    }
}
