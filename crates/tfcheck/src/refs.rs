//! References and literal values read out of HCL expressions.

use crate::*;

/// One step of a reference after its root name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Attr(String),
    Index,
    Splat,
}

/// A reference such as `module.compute.api_private_ips` or `var.region`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub root: String,
    pub steps: Vec<Step>,
}

impl Reference {
    /// The n-th attribute name after the root, skipping index/splat steps.
    pub fn attr(&self, n: usize) -> Option<&str> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Attr(a) => Some(a.as_str()),
                _ => None,
            })
            .nth(n)
    }

    /// The attribute name directly after the root (no index in between).
    pub fn first_attr(&self) -> Option<&str> {
        match self.steps.first() {
            Some(Step::Attr(a)) => Some(a),
            _ => None,
        }
    }
}

/// Every reference made by an expression, including inside string templates.
pub fn references(expr: &Expression) -> Vec<Reference> {
    let mut out = Vec::new();
    collect_refs(expr, &mut out);
    out
}

fn collect_refs(expr: &Expression, out: &mut Vec<Reference>) {
    match expr {
        Expression::Variable(v) => out.push(Reference {
            root: v.as_str().to_string(),
            steps: Vec::new(),
        }),
        Expression::Traversal(t) => {
            let mut steps = Vec::new();
            for op in &t.operators {
                match op {
                    TraversalOperator::GetAttr(id) => steps.push(Step::Attr(id.to_string())),
                    TraversalOperator::Index(e) => {
                        collect_refs(e, out);
                        steps.push(Step::Index);
                    }
                    TraversalOperator::LegacyIndex(_) => steps.push(Step::Index),
                    TraversalOperator::AttrSplat | TraversalOperator::FullSplat => {
                        steps.push(Step::Splat)
                    }
                }
            }
            match &t.expr {
                Expression::Variable(v) => out.push(Reference {
                    root: v.as_str().to_string(),
                    steps,
                }),
                other => collect_refs(other, out),
            }
        }
        Expression::Array(items) => items.iter().for_each(|e| collect_refs(e, out)),
        Expression::Object(obj) => {
            for (k, v) in obj {
                if let ObjectKey::Expression(k) = k {
                    // `{ (var.x) = 1 }` references var.x; a bare word key is a literal.
                    if !matches!(k, Expression::Variable(_)) {
                        collect_refs(k, out);
                    }
                }
                collect_refs(v, out);
            }
        }
        Expression::TemplateExpr(t) => {
            if let Ok(tpl) = Template::from_expr(t) {
                collect_template_refs(&tpl, out);
            }
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|e| collect_refs(e, out)),
        Expression::Parenthesis(e) => collect_refs(e, out),
        Expression::Conditional(c) => {
            collect_refs(&c.cond_expr, out);
            collect_refs(&c.true_expr, out);
            collect_refs(&c.false_expr, out);
        }
        Expression::Operation(op) => match op.as_ref() {
            Operation::Unary(u) => collect_refs(&u.expr, out),
            Operation::Binary(b) => {
                collect_refs(&b.lhs_expr, out);
                collect_refs(&b.rhs_expr, out);
            }
        },
        Expression::ForExpr(f) => {
            collect_refs(&f.collection_expr, out);
            let locals: Vec<&str> = f
                .key_var
                .iter()
                .map(|k| k.as_str())
                .chain([f.value_var.as_str()])
                .collect();
            let mut inner = Vec::new();
            if let Some(k) = &f.key_expr {
                collect_refs(k, &mut inner);
            }
            collect_refs(&f.value_expr, &mut inner);
            if let Some(c) = &f.cond_expr {
                collect_refs(c, &mut inner);
            }
            out.extend(
                inner
                    .into_iter()
                    .filter(|r| !locals.contains(&r.root.as_str())),
            );
        }
        _ => {}
    }
}

pub(crate) fn collect_template_refs(tpl: &Template, out: &mut Vec<Reference>) {
    for el in tpl.elements() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => collect_refs(&i.expr, out),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    collect_refs(&d.cond_expr, out);
                    collect_template_refs(&d.true_template, out);
                    if let Some(f) = &d.false_template {
                        collect_template_refs(f, out);
                    }
                }
                Directive::For(d) => {
                    collect_refs(&d.collection_expr, out);
                    let locals: Vec<&str> = d
                        .key_var
                        .iter()
                        .map(|k| k.as_str())
                        .chain([d.value_var.as_str()])
                        .collect();
                    let mut inner = Vec::new();
                    collect_template_refs(&d.template, &mut inner);
                    out.extend(
                        inner
                            .into_iter()
                            .filter(|r| !locals.contains(&r.root.as_str())),
                    );
                }
            },
        }
    }
}

/// Calls `f` on every attribute expression of a body, recursively, with the
/// names of the enclosing blocks (for dynamic-block iterator names).
pub(crate) fn for_each_expr<'a>(body: &'a Body, f: &mut dyn FnMut(&'a Expression, &[String])) {
    fn go<'a>(
        body: &'a Body,
        scope: &mut Vec<String>,
        f: &mut dyn FnMut(&'a Expression, &[String]),
    ) {
        for attr in body.attributes() {
            f(attr.expr(), scope);
        }
        for block in body.blocks() {
            let pushed = if block.identifier() == "dynamic" {
                // The iterator is named after the block label (or `iterator = x`).
                let name = block
                    .body()
                    .attributes()
                    .find(|a| a.key() == "iterator")
                    .and_then(|a| match a.expr() {
                        Expression::Variable(v) => Some(v.as_str().to_string()),
                        _ => None,
                    })
                    .or_else(|| label(block, 0).map(str::to_string));
                if let Some(n) = &name {
                    scope.push(n.clone());
                }
                name.is_some()
            } else {
                false
            };
            go(block.body(), scope, f);
            if pushed {
                scope.pop();
            }
        }
    }
    go(body, &mut Vec::new(), f)
}

/// Evaluates an expression that needs no variables (a literal).
pub fn literal(expr: &Expression) -> Option<Value> {
    expr.evaluate(&Context::new()).ok()
}

/// Keys of the object literal(s) an expression builds: object literals,
/// `merge(...)` arguments and both branches of conditionals.
pub fn object_keys(expr: &Expression) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    fn go(expr: &Expression, keys: &mut BTreeSet<String>) {
        match expr {
            Expression::Object(obj) => {
                for k in obj.keys() {
                    match k {
                        ObjectKey::Identifier(id) => {
                            keys.insert(id.to_string());
                        }
                        ObjectKey::Expression(Expression::Variable(v)) => {
                            keys.insert(v.as_str().to_string());
                        }
                        ObjectKey::Expression(e) => {
                            if let Some(Value::String(s)) = literal(e) {
                                keys.insert(s);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Expression::FuncCall(f) if f.name.name.as_str() == "merge" => {
                f.args.iter().for_each(|a| go(a, keys))
            }
            Expression::Conditional(c) => {
                go(&c.true_expr, keys);
                go(&c.false_expr, keys);
            }
            Expression::Parenthesis(e) => go(e, keys),
            _ => {}
        }
    }
    go(expr, &mut keys);
    keys
}

/// The value expression stored under `key` in an object literal (also
/// looking into `merge(...)` arguments).
pub fn object_get<'a>(expr: &'a Expression, key: &str) -> Option<&'a Expression> {
    match expr {
        Expression::Object(obj) => obj.iter().find_map(|(k, v)| {
            let name = match k {
                ObjectKey::Identifier(id) => id.as_str().to_string(),
                ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_string(),
                ObjectKey::Expression(e) => match literal(e) {
                    Some(Value::String(s)) => s,
                    _ => return None,
                },
                _ => return None,
            };
            (name == key).then_some(v)
        }),
        Expression::FuncCall(f) if f.name.name.as_str() == "merge" => {
            f.args.iter().rev().find_map(|a| object_get(a, key))
        }
        Expression::Parenthesis(e) => object_get(e, key),
        _ => None,
    }
}

pub(crate) fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}
