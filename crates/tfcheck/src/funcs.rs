//! The Terraform functions the tree applies to values, for `hcl-rs`'s
//! evaluator: enough to compute module inputs and to render the cloud-init
//! templates as `templatefile` would. Each follows Terraform's documented
//! behaviour for the argument kinds the tree passes.

use crate::*;
use hcl::eval::{FuncArgs, FuncDef, ParamType};

/// A context holding the Terraform functions.
pub fn functions() -> Context<'static> {
    let mut ctx = Context::new();
    let variadic = |f| FuncDef::builder().variadic_param(ParamType::Any).build(f);
    let fixed = |f, n| FuncDef::new(f, std::iter::repeat_n(ParamType::Any, n));
    ctx.declare_func("coalesce", variadic(coalesce));
    ctx.declare_func("concat", variadic(concat));
    ctx.declare_func("format", variadic(format_));
    ctx.declare_func("merge", variadic(merge));
    ctx.declare_func("max", variadic(max));
    ctx.declare_func("min", variadic(min));
    ctx.declare_func("try", variadic(try_));
    ctx.declare_func("tostring", fixed(tostring, 1));
    ctx.declare_func("nonsensitive", fixed(nonsensitive, 1));
    ctx.declare_func("floor", fixed(floor, 1));
    ctx.declare_func("jsonencode", fixed(jsonencode, 1));
    ctx.declare_func("keys", fixed(keys, 1));
    ctx.declare_func("sort", fixed(sort, 1));
    ctx.declare_func("length", fixed(length, 1));
    ctx.declare_func("range", fixed(range, 1));
    ctx.declare_func("upper", fixed(upper, 1));
    ctx.declare_func("lower", fixed(lower, 1));
    ctx.declare_func("urlencode", fixed(urlencode, 1));
    ctx.declare_func("join", fixed(join, 2));
    ctx.declare_func("split", fixed(split, 2));
    ctx.declare_func("contains", fixed(contains, 2));
    ctx.declare_func("strcontains", fixed(strcontains, 2));
    ctx.declare_func("trimsuffix", fixed(trimsuffix, 2));
    ctx.declare_func("templatefile", fixed(templatefile, 2));
    ctx.declare_func("replace", fixed(replace, 3));
    ctx.declare_func("lookup", fixed(lookup, 3));
    ctx
}

fn string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("{other} is not a string")),
    }
}

fn number(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{v} is not a number")),
        Value::String(s) => s.parse().map_err(|_| format!("{v} is not a number")),
        _ => Err(format!("{v} is not a number")),
    }
}

fn list(v: &Value) -> Result<&Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(format!("{other} is not a list")),
    }
}

fn to_value(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

fn coalesce(args: FuncArgs) -> Result<Value, String> {
    args.into_values()
        .into_iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .ok_or_else(|| "no non-null, non-empty argument".to_string())
}

/// `format` with the verbs the tree uses: `%s`, `%d` and `%%`.
fn format_(args: FuncArgs) -> Result<Value, String> {
    let mut args = args.into_values().into_iter();
    let spec = string(&args.next().ok_or("format needs a format string")?)?;
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => out.push_str(&string(&args.next().ok_or("format: too few arguments")?)?),
            Some('d') => {
                let n = number(&args.next().ok_or("format: too few arguments")?)?;
                if n.fract() != 0.0 {
                    return Err(format!("format: %d of {n}"));
                }
                out.push_str(&(n as i64).to_string());
            }
            other => return Err(format!("format: unsupported verb %{other:?}")),
        }
    }
    Ok(Value::String(out))
}

/// Arguments are evaluated before the call, so the first one is a value.
fn try_(args: FuncArgs) -> Result<Value, String> {
    Ok(args.into_values().into_iter().next().unwrap_or(Value::Null))
}

fn concat(args: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for a in args.into_values() {
        out.extend(list(&a)?.iter().cloned());
    }
    Ok(Value::Array(out))
}

fn merge(args: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for a in args.into_values() {
        match a {
            Value::Object(o) => out.extend(o),
            Value::Null => {}
            other => return Err(format!("merge: {other} is not an object")),
        }
    }
    Ok(Value::Object(out))
}

fn max(args: FuncArgs) -> Result<Value, String> {
    let xs: Result<Vec<f64>, String> = args.into_values().iter().map(number).collect();
    Ok(to_value(xs?.into_iter().fold(f64::MIN, f64::max)))
}

fn min(args: FuncArgs) -> Result<Value, String> {
    let xs: Result<Vec<f64>, String> = args.into_values().iter().map(number).collect();
    Ok(to_value(xs?.into_iter().fold(f64::MAX, f64::min)))
}

fn tostring(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        v => string(v).map(Value::String),
    }
}

/// `lookup(map, key, default)`: the key's value, else the default.
fn lookup(args: FuncArgs) -> Result<Value, String> {
    let key = string(&args[1])?;
    match &args[0] {
        Value::Object(map) => Ok(map.get(&key).cloned().unwrap_or_else(|| args[2].clone())),
        Value::Null => Ok(args[2].clone()),
        other => Err(format!("{other} is not a map")),
    }
}

/// The evaluator tracks no sensitivity: the value itself.
fn nonsensitive(args: FuncArgs) -> Result<Value, String> {
    Ok(args[0].clone())
}

fn floor(args: FuncArgs) -> Result<Value, String> {
    Ok(to_value(number(&args[0])?.floor()))
}

/// Terraform's jsonencode: Go's encoder, which also escapes <, > and &.
fn jsonencode(args: FuncArgs) -> Result<Value, String> {
    fn json(v: &Value) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Number(n) => serde_json::to_value(n).unwrap_or_default(),
            Value::String(s) => s.clone().into(),
            Value::Array(a) => a.iter().map(json).collect(),
            Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), json(v))).collect(),
        }
    }
    let text = serde_json::to_string(&json(&args[0])).map_err(|e| e.to_string())?;
    Ok(Value::String(
        text.replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
    ))
}

fn keys(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Object(o) => {
            let mut k: Vec<String> = o.keys().cloned().collect();
            k.sort();
            Ok(Value::Array(k.into_iter().map(Value::String).collect()))
        }
        other => Err(format!("keys: {other} is not an object")),
    }
}

fn sort(args: FuncArgs) -> Result<Value, String> {
    let mut items: Vec<String> = list(&args[0])?
        .iter()
        .map(string)
        .collect::<Result<_, _>>()?;
    items.sort();
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

fn length(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::from(match &args[0] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        other => return Err(format!("length: {other}")),
    } as i64))
}

fn range(args: FuncArgs) -> Result<Value, String> {
    let n = number(&args[0])? as i64;
    Ok(Value::Array((0..n.max(0)).map(Value::from).collect()))
}

fn upper(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(string(&args[0])?.to_uppercase()))
}

fn lower(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(string(&args[0])?.to_lowercase()))
}

/// Terraform's urlencode: everything but unreserved characters is
/// percent-encoded, and a space becomes `+`.
fn urlencode(args: FuncArgs) -> Result<Value, String> {
    let mut out = String::new();
    for b in string(&args[0])?.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

fn join(args: FuncArgs) -> Result<Value, String> {
    let sep = string(&args[0])?;
    let items: Vec<String> = list(&args[1])?
        .iter()
        .map(string)
        .collect::<Result<_, _>>()?;
    Ok(Value::String(items.join(&sep)))
}

fn split(args: FuncArgs) -> Result<Value, String> {
    let sep = string(&args[0])?;
    let s = string(&args[1])?;
    Ok(Value::Array(
        s.split(sep.as_str()).map(Value::from).collect(),
    ))
}

fn contains(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Bool(list(&args[0])?.contains(&args[1])))
}

fn strcontains(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Bool(string(&args[0])?.contains(&string(&args[1])?)))
}

fn trimsuffix(args: FuncArgs) -> Result<Value, String> {
    let s = string(&args[0])?;
    let suffix = string(&args[1])?;
    Ok(Value::String(
        s.strip_suffix(suffix.as_str()).unwrap_or(&s).to_string(),
    ))
}

/// Plain substring replacement (the tree uses no `/regex/` patterns).
fn replace(args: FuncArgs) -> Result<Value, String> {
    let s = string(&args[0])?;
    Ok(Value::String(
        s.replace(&string(&args[1])?, &string(&args[2])?),
    ))
}

/// Renders a template file with the given variables, as Terraform does.
fn templatefile(args: FuncArgs) -> Result<Value, String> {
    let path = string(&args[0])?;
    let Value::Object(vars) = &args[1] else {
        return Err("templatefile: vars must be an object".into());
    };
    let text = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let template: Template = text
        .parse()
        .map_err(|e| format!("{path}: template does not parse: {e}"))?;
    let mut ctx = functions();
    for (k, v) in vars {
        ctx.declare_var(k.as_str(), v.clone());
    }
    template
        .evaluate(&ctx)
        .map(Value::String)
        .map_err(|e| format!("{path}: {e}"))
}
