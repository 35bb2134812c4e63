//! Loading: the repository paths, parsed Terraform directories, files.

use crate::*;

/// The repository root, from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/tfcheck has two ancestors")
        .to_path_buf()
}

/// The `terraform/` directory of the repository.
pub fn terraform_root() -> PathBuf {
    repo_root().join("terraform")
}

/// The schema subset bundled with this crate.
pub fn bundled_schema() -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/scaleway.json");
    let text = fs::read_to_string(&path).expect("schema/scaleway.json is readable");
    serde_json::from_str(&text).expect("schema/scaleway.json is valid JSON")
}

/// One parsed Terraform directory (a module or an environment).
#[derive(Debug)]
pub struct TfDir {
    pub dir: PathBuf,
    /// (file path, parsed body) for every `*.tf` file, sorted by path.
    pub files: Vec<(PathBuf, Body)>,
}

impl TfDir {
    /// Parses every `*.tf` file directly inside `dir`.
    pub fn load(dir: &Path) -> Result<TfDir, String> {
        let mut paths: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tf"))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            files.push((path.clone(), parse_file(&path)?));
        }
        Ok(TfDir {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// All top-level blocks with the given identifier (`resource`, `module`...).
    pub fn blocks<'a>(&'a self, ident: &'a str) -> impl Iterator<Item = (&'a Path, &'a Block)> {
        self.files.iter().flat_map(move |(path, body)| {
            body.blocks()
                .filter(move |b| b.identifier() == ident)
                .map(move |b| (path.as_path(), b))
        })
    }

    /// The block `ident "l0" "l1" {}` (labels compared in order).
    pub fn block<'a>(&'a self, ident: &'a str, labels: &[&str]) -> Option<&'a Block> {
        self.blocks(ident)
            .map(|(_, b)| b)
            .find(|b| label_strs(b) == labels)
    }

    /// Declared variables by name.
    pub fn variables(&self) -> BTreeMap<String, &Block> {
        self.blocks("variable")
            .filter_map(|(_, b)| label(b, 0).map(|l| (l.to_string(), b)))
            .collect()
    }

    /// Declared outputs.
    pub fn outputs(&self) -> BTreeSet<String> {
        self.blocks("output")
            .filter_map(|(_, b)| label(b, 0).map(str::to_string))
            .collect()
    }

    /// `locals` attributes by name.
    pub fn locals(&self) -> BTreeMap<String, &Expression> {
        self.blocks("locals")
            .flat_map(|(_, b)| b.body().attributes())
            .map(|a| (a.key().to_string(), a.expr()))
            .collect()
    }

    /// Short name for messages: the path relative to `terraform/`.
    pub fn name(&self) -> String {
        short(&self.dir)
    }
}

pub(crate) fn short(path: &Path) -> String {
    let s = path.display().to_string();
    match s.find("terraform/") {
        Some(i) => s[i..].to_string(),
        None => s,
    }
}

/// Parses one HCL file (`.tf` or `.tfvars`).
pub fn parse_file(path: &Path) -> Result<Body, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    hcl::parse(&text).map_err(|e| format!("{}: HCL parse error: {e}", short(path)))
}

pub(crate) fn label(block: &Block, i: usize) -> Option<&str> {
    block.labels().get(i).map(|l| l.as_str())
}

pub(crate) fn label_strs(block: &Block) -> Vec<&str> {
    block.labels().iter().map(|l| l.as_str()).collect()
}

/// Every directory under `tf_root` that directly holds `*.tf` files.
pub fn tf_dirs(tf_root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![tf_root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut has_tf = false;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !name.to_string_lossy().starts_with('.') {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|x| x == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            out.push(dir);
        }
    }
    out.sort();
    out
}

/// Files with the given extension under `dir`, recursively, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
