//! The deployment files through their linters: the Dockerfile through
//! hadolint, the workflow through check-jsonschema's GitHub-workflow schema,
//! the YAML through yamllint, the deploy scripts through shellcheck. Each
//! gate also runs on a broken copy, to show it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::unique;

/// yamllint's defaults, less the rules our files break on purpose: long
/// lines (commands, descriptions), no `---` on single documents, `on:` as a
/// key (GitHub's), flow maps written `{ a: b }` and one space before `#`.
const YAMLLINT_CONFIG: &str = "{extends: default, rules: {line-length: disable, document-start: disable, \
     truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}, \
     braces: {max-spaces-inside: 1}, brackets: {max-spaces-inside: 1}}}";

const YAML_FILES: &[&str] = &[
    ".github/workflows",
    "compose.yaml",
    "deploy/k8s",
    "terraform/modules/observability",
];

const SHELL_SCRIPTS: &[&str] = &["scripts/roll", "deploy/k8s/rollout"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(name: &str) -> Option<PathBuf> {
    let state = std::env::var("CIEL_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".local"));
    let found = Some(state.join("venv/bin").join(name))
        .filter(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is missing (scripts/services.sh ensure_lint_tools installs it)"
        );
        eprintln!("skipped: {name} is missing (scripts/services.sh installs it)");
    }
    found
}

/// Runs a linter; Ok(()) when it passes, Err(its output) otherwise.
fn lint(tool: &Path, args: &[&str], files: &[PathBuf]) -> Result<(), String> {
    let output = Command::new(tool)
        .args(args)
        .args(files)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A copy of `file` with `from` replaced by `to`, in a temp dir.
fn broken(file: &str, from: &str, to: &str) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    assert!(text.contains(from), "{file} no longer contains {from:?}");
    let dir = std::env::temp_dir().join(unique("ciel-lint"));
    std::fs::create_dir_all(&dir).unwrap();
    let name = Path::new(file).file_name().unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    (dir, path)
}

#[test]
fn the_dockerfile_passes_hadolint_and_a_broken_one_does_not() {
    let Some(hadolint) = tool("hadolint") else {
        return;
    };
    let args = ["--no-color"];
    if let Err(out) = lint(&hadolint, &args, &[repo().join("Dockerfile")]) {
        panic!("hadolint Dockerfile:\n{out}");
    }
    let (dir, copy) = broken(
        "Dockerfile",
        "FROM scratch AS runtime",
        "FROM debian AS runtime",
    );
    let out = lint(&hadolint, &args, &[copy]).expect_err("an untagged base image");
    assert!(out.contains("DL3006"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_workflow_matches_githubs_schema_and_a_broken_one_does_not() {
    let Some(check) = tool("check-jsonschema") else {
        return;
    };
    let args = ["--builtin-schema", "vendor.github-workflows"];
    let workflow = repo().join(".github/workflows/deploy.yml");
    if let Err(out) = lint(&check, &args, &[workflow]) {
        panic!("check-jsonschema deploy.yml:\n{out}");
    }
    let (dir, copy) = broken(
        ".github/workflows/deploy.yml",
        "    timeout-minutes: 60\n",
        "    timeout-minutes: an hour\n",
    );
    let out = lint(&check, &args, &[copy]).expect_err("a timeout that is not a number");
    assert!(out.contains("timeout-minutes"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_yaml_passes_yamllint_and_a_broken_file_does_not() {
    let Some(yamllint) = tool("yamllint") else {
        return;
    };
    let args = ["-f", "parsable", "-d", YAMLLINT_CONFIG];
    let files: Vec<PathBuf> = YAML_FILES.iter().map(|f| repo().join(f)).collect();
    if let Err(out) = lint(&yamllint, &args, &files) {
        panic!("yamllint:\n{out}");
    }
    let (dir, copy) = broken(
        "deploy/k8s/base/api.yaml",
        "  revisionHistoryLimit: 5\n",
        "  revisionHistoryLimit: 5\n  revisionHistoryLimit: 6\n",
    );
    let out = lint(&yamllint, &args, &[copy]).expect_err("a duplicated key");
    assert!(out.contains("key-duplicates"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_deploy_scripts_pass_shellcheck_and_a_broken_one_does_not() {
    let Some(shellcheck) = tool("shellcheck") else {
        return;
    };
    let files: Vec<PathBuf> = SHELL_SCRIPTS.iter().map(|f| repo().join(f)).collect();
    if let Err(out) = lint(&shellcheck, &[], &files) {
        panic!("shellcheck:\n{out}");
    }
    let (dir, copy) = broken(
        "scripts/roll",
        "scaleway_lb POST \"$host\"",
        "scaleway_lb POST $host",
    );
    let out = lint(&shellcheck, &[], &[copy]).expect_err("an unquoted variable");
    assert!(out.contains("SC2086"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}
