//! Finding and running the real consumers (cloud-init, shellcheck,
//! redis-server, promtool, PyYAML) and a scratch directory for their files.

use serde_json::Value as Json;
use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether `tool` runs; when it does not, a problem under `CI=true`, else
/// `Ok(false)` and a note (the check is skipped).
pub fn tool(tool: &str, args: &[&str]) -> Result<bool, String> {
    tool_in(std::env::var("CI").is_ok_and(|v| v == "true"), tool, args)
}

/// [`tool`], with whether this is CI given.
pub fn tool_in(ci: bool, tool: &str, args: &[&str]) -> Result<bool, String> {
    let found = Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Ok(true);
    }
    if ci {
        return Err(format!(
            "{tool} is missing (scripts/services.sh installs it); CI=true does not skip"
        ));
    }
    eprintln!("note: {tool} is missing, skipping its check (scripts/services.sh installs it)");
    Ok(false)
}

/// `Some(what the check returns)` when `tool` is missing: nothing (skipped)
/// or, under `CI=true`, the problem.
pub(super) fn missing(name: &str) -> Option<Vec<String>> {
    match tool(name, &["--version"]) {
        Ok(true) => None,
        Ok(false) => Some(Vec::new()),
        Err(e) => Some(vec![e]),
    }
}

pub(super) fn run(cmd: &mut Command, stdin: Option<&str>) -> Result<(bool, String), String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())
            .map_err(|e| e.to_string())?;
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tfcheck-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The render as JSON, read by PyYAML: the YAML loader cloud-init itself uses.
pub fn parse_yaml(text: &str) -> Result<Json, String> {
    let (ok, out) = run(
        Command::new("python3").args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ]),
        Some(text),
    )?;
    if !ok {
        return Err(format!("not YAML: {out}"));
    }
    serde_json::from_str(&out).map_err(|e| e.to_string())
}

pub(super) fn unsafe_geteuid() -> u32 {
    // No libc dependency: the effective uid from /proc.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
