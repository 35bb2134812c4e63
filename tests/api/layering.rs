//! The shape of `src/`: no two files import each other, directly or through
//! others, and configuration (the floor) imports nothing of the crate. A
//! file's imports are its `use` trees and the `crate::`/`super::` paths in
//! its code; comments and `#[cfg(test)]` modules do not count, nor does a
//! module's use of its own submodules (a facade re-exporting what they
//! define): a child may use its parent's items.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path, `[]` for the crate root: `src/http/mod.rs` is `["http"]`.
type Module = Vec<String>;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.last().map(String::as_str) {
        Some("mod" | "lib") => {
            parts.pop();
        }
        Some("main") if parts.len() == 1 => parts = vec!["<main>".into()],
        _ => {}
    }
    parts
}

/// The code of a file without comments and without its test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a `use` tree (`crate::a::{b, c::d}`) into its paths.
fn expand_use(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    let Some(open) = tree.find('{') else {
        let mut path = prefix.to_vec();
        path.extend(
            tree.split("::")
                .map(|s| s.split(" as ").next().unwrap().trim().to_string())
                .filter(|s| !s.is_empty()),
        );
        out.push(path);
        return;
    };
    let mut path = prefix.to_vec();
    path.extend(
        tree[..open]
            .trim_end_matches(':')
            .split("::")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    );
    let body = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand_use(&body[start..i], &path, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    expand_use(&body[start..], &path, out);
}

/// Every `crate::`, `super::` or `self::` path the code names.
fn paths_named(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let preceded_by_word = rest[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = &rest[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        let tree = after[..end].trim();
        if !preceded_by_word
            && ["crate", "super", "self"]
                .iter()
                .any(|root| tree.starts_with(&format!("{root}::")))
        {
            expand_use(tree, &[], &mut paths);
        }
        rest = &after[end.min(after.len())..];
    }
    let bytes = code.as_bytes();
    for root in ["crate::", "super::"] {
        for (at, _) in code.match_indices(root) {
            let preceded = at > 0 && {
                let c = bytes[at - 1] as char;
                c.is_alphanumeric() || c == '_' || c == ':'
            };
            if preceded {
                continue;
            }
            let tail: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(
                tail.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
        }
    }
    paths
}

/// The module a path names, from `module`'s point of view: the longest
/// prefix that is a file of the crate.
fn resolve(path: &[String], module: &Module, modules: &BTreeSet<Module>) -> Option<Module> {
    let absolute: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => path[1..].to_vec(),
        Some("super") => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let mut base = module[..module.len().saturating_sub(ups)].to_vec();
            base.extend_from_slice(&path[ups..]);
            base
        }
        Some("self") => {
            let mut base = module.clone();
            base.extend_from_slice(&path[1..]);
            base
        }
        _ => return None,
    };
    (0..=absolute.len())
        .rev()
        .map(|n| absolute[..n].to_vec())
        .find(|candidate| modules.contains(candidate))
}

fn import_graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let modules: BTreeMap<Module, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let names: BTreeSet<Module> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, file)| {
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            let targets = paths_named(&code)
                .iter()
                .filter_map(|path| resolve(path, module, &names))
                .filter(|target| !target.starts_with(module))
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// The groups of modules that import one another (Tarjan's strongly
/// connected components of more than one module).
fn circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        found: Vec<Vec<Module>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_two_files_of_src_import_each_other() {
    let graph = import_graph();
    assert!(
        graph.len() > 60,
        "the walk found only {} files",
        graph.len()
    );
    let found = circles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|group| {
            let names: BTreeSet<String> = group.iter().map(|m| m.join("::")).collect();
            format!("{names:?}")
        })
        .collect();
    assert!(found.is_empty(), "import circles in src/: {described:#?}");
}

#[test]
fn configuration_imports_nothing_of_the_crate() {
    let graph = import_graph();
    for (module, targets) in &graph {
        if module.first().map(String::as_str) != Some("config") {
            continue;
        }
        for target in targets {
            assert_eq!(
                target.first().map(String::as_str),
                Some("config"),
                "{} imports {}",
                module.join("::"),
                target.join("::")
            );
        }
    }
}

#[test]
fn the_check_reads_use_trees_and_paths_and_sees_a_circle() {
    let module = |path: &str| -> Module { path.split("::").map(str::to_string).collect() };
    let modules: BTreeSet<Module> = ["a", "b", "b::c", "d", "e"].map(module).into();
    let code = code_of(
        "use crate::b::{c::Thing, other as o};\n// use crate::d;\nfn f() { super::e::g() }\n\
         #[cfg(test)]\nmod tests { use crate::d; }",
    );
    let named: BTreeSet<Module> = paths_named(&code)
        .iter()
        .filter_map(|p| resolve(p, &module("a"), &modules))
        .collect();
    assert_eq!(named, ["b", "b::c", "e"].map(module).into());
    let graph: BTreeMap<Module, BTreeSet<Module>> = [
        (module("a"), [module("b")].into()),
        (module("b"), [module("a")].into()),
        (module("d"), [module("a")].into()),
    ]
    .into();
    assert_eq!(circles(&graph), vec![vec![module("b"), module("a")]]);
}
