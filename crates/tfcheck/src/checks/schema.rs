use crate::*;

const RESOURCE_META_ATTRS: &[&str] = &["count", "for_each", "depends_on", "provider"];
const RESOURCE_META_BLOCKS: &[&str] = &["lifecycle", "provisioner", "connection"];

/// Check 1: every `resource` / `data` type exists in the schema; every
/// argument and nested block it sets exists, is written as the right kind
/// (argument vs. block) and is not deprecated; every required argument and
/// block is set, at every nesting level; `exactly_one_of`, `conflicts_with`,
/// `required_with` and `max_items` are honoured; every reference such as
/// `scaleway_rdb_instance.this.private_network[0].ip` names a real attribute.
pub fn check_schema(tf_root: &Path, schema: &Json) -> Vec<String> {
    let mut errs = Vec::new();
    for dir in tf_dirs(tf_root) {
        let tf = match TfDir::load(&dir) {
            Ok(tf) => tf,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        for (kind, section) in [("resource", "resources"), ("data", "data_sources")] {
            for (path, block) in tf.blocks(kind) {
                let (Some(typ), Some(name)) = (label(block, 0), label(block, 1)) else {
                    errs.push(format!(
                        "{}: {kind} block without type and name",
                        short(path)
                    ));
                    continue;
                };
                let what = format!("{}: {kind} \"{typ}\" \"{name}\"", short(path));
                let deprecated = schema[section]
                    .get(typ)
                    .is_some_and(|e| e["deprecated"].as_bool() == Some(true))
                    || listed_in(&schema["deprecated_types"][section], typ);
                if deprecated {
                    errs.push(format!(
                        "{what}: {kind} type \"{typ}\" is deprecated by the provider \
                         (and due for removal): use its replacement"
                    ));
                    continue;
                }
                match schema[section].get(typ) {
                    Some(entry) => check_body(entry, block.body(), &what, true, &mut errs),
                    None => errs.push(format!(
                        "{what}: unknown {kind} type \"{typ}\" (not in the provider schema; \
                         if it is real, regenerate crates/tfcheck/schema/scaleway.json)"
                    )),
                }
            }
        }
        // Attribute references (`scaleway_x.n.attr[0].field`, `data.scaleway_y.n.attr`).
        for (path, body) in &tf.files {
            let mut found = Vec::new();
            for_each_expr(body, &mut |expr, scope| {
                for r in references(expr) {
                    if !scope.contains(&r.root) {
                        found.push(r);
                    }
                }
            });
            for r in found {
                let (entry, typ, skip) = if r.root == "data" {
                    match r.first_attr() {
                        Some(t) => (schema["data_sources"].get(t), format!("data.{t}"), 2),
                        None => continue,
                    }
                } else {
                    (schema["resources"].get(&r.root), r.root.clone(), 1)
                };
                let Some(entry) = entry else {
                    continue;
                };
                if let Some(problem) = check_attr_path(entry, &r, skip) {
                    errs.push(format!("{}: {typ}: {problem}", short(path)));
                }
            }
        }
    }
    errs
}

fn listed_in(list: &Json, name: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(name)))
}

/// Follows the attribute names of a reference through the schema entry:
/// arguments, computed attributes, nested blocks and computed objects.
/// `skip` is the number of attribute names before the first field (the
/// resource name, or the type and name for data sources).
fn check_attr_path(entry: &Json, r: &Reference, skip: usize) -> Option<String> {
    let names: Vec<&str> = r
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Attr(a) => Some(a.as_str()),
            _ => None,
        })
        .skip(skip)
        .collect();
    let mut node = entry;
    let mut trail = String::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(block) = node["blocks"].get(*name) {
            node = block;
        } else if let Some(fields) = node["computed_objects"].get(*name) {
            // A computed list of objects: check the field read from it.
            return match names.get(i + 1) {
                Some(field) if !listed_in(fields, field) => {
                    Some(format!("no attribute \"{trail}{name}.{field}\""))
                }
                _ => None,
            };
        } else if node["arguments"].get(*name).is_some() || listed_in(&node["attributes"], name) {
            return None; // a value: indexing into it is free-form
        } else {
            return Some(format!("no attribute \"{trail}{name}\""));
        }
        trail.push_str(name);
        trail.push('.');
    }
    None
}

fn check_body(entry: &Json, body: &Body, what: &str, top: bool, errs: &mut Vec<String>) {
    let empty = serde_json::Map::new();
    let args = entry["arguments"].as_object().unwrap_or(&empty);
    let blocks = entry["blocks"].as_object().unwrap_or(&empty);
    let mut set: BTreeSet<String> = BTreeSet::new();

    for a in body.attributes() {
        let key = a.key();
        if top && RESOURCE_META_ATTRS.contains(&key) {
            continue;
        }
        set.insert(key.to_string());
        if let Some(spec) = args.get(key) {
            if spec["deprecated"].as_bool() == Some(true) {
                errs.push(format!("{what}: argument \"{key}\" is deprecated"));
            }
        } else if blocks.contains_key(key) {
            errs.push(format!(
                "{what}: \"{key}\" is a nested block; write `{key} {{ ... }}`, not `{key} = ...`"
            ));
        } else {
            errs.push(format!("{what}: unknown argument \"{key}\""));
        }
    }

    for b in body.blocks() {
        let ident = b.identifier();
        if top && RESOURCE_META_BLOCKS.contains(&ident) {
            continue;
        }
        let (name, inner) = if ident == "dynamic" {
            let Some(name) = label(b, 0) else {
                errs.push(format!("{what}: dynamic block without a label"));
                continue;
            };
            match b.body().blocks().find(|c| c.identifier() == "content") {
                Some(content) => (name, content.body()),
                None => {
                    errs.push(format!("{what}: dynamic \"{name}\" has no content block"));
                    continue;
                }
            }
        } else {
            (ident, b.body())
        };
        set.insert(name.to_string());
        if let Some(spec) = blocks.get(name) {
            if spec["deprecated"].as_bool() == Some(true) {
                errs.push(format!("{what}: block \"{name}\" is deprecated"));
            }
            check_body(spec, inner, &format!("{what} > {name}"), false, errs);
        } else if args.contains_key(name) {
            errs.push(format!(
                "{what}: \"{name}\" is an argument; write `{name} = ...`, not a block"
            ));
        } else {
            errs.push(format!("{what}: unknown block \"{name}\""));
        }
    }

    for (name, spec) in args {
        if spec["required"].as_bool() == Some(true) && !set.contains(name) {
            errs.push(format!("{what}: missing required argument \"{name}\""));
        }
    }
    for (name, spec) in blocks {
        if spec["required"].as_bool() == Some(true) && !set.contains(name) {
            errs.push(format!("{what}: missing required block \"{name}\""));
        }
    }

    // exactly_one_of: at least one member of the group must be set. Members
    // may be paths into a nested block ("root_volume.0.volume_id").
    let is_set = |member: &str| -> bool {
        let parts: Vec<&str> = member.split('.').collect();
        match parts.as_slice() {
            [name] => set.contains(*name),
            [block, _, field] => body
                .blocks()
                .filter(|b| b.identifier() == *block)
                .any(|b| b.body().attributes().any(|a| a.key() == *field)),
            _ => true,
        }
    };
    for (name, spec) in args {
        if !set.contains(name) {
            continue;
        }
        for other in spec["conflicts_with"].as_array().into_iter().flatten() {
            if let Some(other) = other.as_str()
                && !other.contains('.')
                && set.contains(other)
            {
                errs.push(format!("{what}: \"{name}\" conflicts with \"{other}\""));
            }
        }
        for other in spec["required_with"].as_array().into_iter().flatten() {
            if let Some(other) = other.as_str()
                && !other.contains('.')
                && !set.contains(other)
            {
                errs.push(format!("{what}: \"{name}\" requires \"{other}\""));
            }
        }
    }

    // Block counts (only countable for literal blocks, not `dynamic` ones).
    for (name, spec) in blocks {
        let count = body.blocks().filter(|b| b.identifier() == name).count();
        if let Some(max) = spec["max_items"].as_u64()
            && count as u64 > max
        {
            errs.push(format!(
                "{what}: block \"{name}\" appears {count} times, at most {max} allowed"
            ));
        }
    }

    let mut seen_groups = BTreeSet::new();
    for (name, spec) in args {
        let Some(group) = spec["exactly_one_of"].as_array() else {
            continue;
        };
        let mut members: Vec<String> = group
            .iter()
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect();
        members.push(name.clone());
        members.sort();
        members.dedup();
        if !seen_groups.insert(members.clone()) {
            continue;
        }
        let n_set = members.iter().filter(|m| is_set(m)).count();
        if n_set != 1 {
            errs.push(format!(
                "{what}: exactly one of {} must be set ({n_set} are)",
                members.join(", ")
            ));
        }
    }
}
