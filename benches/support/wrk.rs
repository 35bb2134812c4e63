//! wrk runs for the benchmarks: each request a random one of a list (a
//! fixed seed, so that two systems get the same sequence), with the
//! figures printed by wrk's Lua `done` hook. wrk runs as its own process,
//! so the app's CPU is not the load generator's.

#![allow(dead_code)]

use std::process::Command;

pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub token: Option<String>,
    /// A JSON body.
    pub body: Option<String>,
}

impl Request {
    pub fn get(path: String, token: &str) -> Self {
        Request {
            method: "GET",
            path,
            token: Some(token.to_string()),
            body: None,
        }
    }

    pub fn post(path: &str, body: String) -> Self {
        Request {
            method: "POST",
            path: path.to_string(),
            token: None,
            body: Some(body),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Non-2xx answers, timeouts and socket errors.
    pub errors: u64,
    pub requests: u64,
}

fn lua_string(s: &str) -> String {
    format!("[=[{s}]=]")
}

pub fn run(base: &str, requests: &[Request], connections: usize, seconds: u64) -> Figures {
    let dir = std::env::temp_dir().join(format!("ciel-bench-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("requests.lua");
    let mut lua = String::from("local requests = {\n");
    for r in requests {
        let token = r
            .token
            .as_ref()
            .map_or("false".into(), |t| lua_string(&format!("Bearer {t}")));
        let body = r.body.as_deref().map_or("false".into(), lua_string);
        lua.push_str(&format!(
            "  {{\"{}\", {}, {token}, {body}}},\n",
            r.method,
            lua_string(&r.path)
        ));
    }
    lua.push_str(
        "}\nmath.randomseed(7)\n\
         request = function()\n\
           local r = requests[math.random(#requests)]\n\
           local headers = {}\n\
           if r[3] then headers[\"Authorization\"] = r[3] end\n\
           if r[4] then headers[\"Content-Type\"] = \"application/json\" end\n\
           return wrk.format(r[1], r[2], headers, r[4] or nil)\n\
         end\n\
         done = function(summary, latency, requests)\n\
           io.write(string.format(\"FIGURES %f %f %f %d %d\\n\", summary.requests / (summary.duration / 1e6),\n\
             latency:percentile(50) / 1000, latency:percentile(99) / 1000,\n\
             summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,\n\
             summary.requests))\n\
         end\n",
    );
    std::fs::write(&script, lua).unwrap();
    let output = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--timeout",
            "5s",
        ])
        .arg("-s")
        .arg(&script)
        .arg(base)
        .output()
        .expect("wrk (scripts/bench-feed installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("FIGURES"))
        .unwrap_or_else(|| panic!("wrk: {text}{}", String::from_utf8_lossy(&output.stderr)));
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    Figures {
        rps: f[0],
        p50_ms: f[1],
        p99_ms: f[2],
        errors: f[3] as u64,
        requests: f[4] as u64,
    }
}
