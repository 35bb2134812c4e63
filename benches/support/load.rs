//! A wrk run against the app with the CPU the app (this process; wrk runs
//! apart) and PostgreSQL's backends spent meanwhile, printed the same way
//! by every benchmark that uses it.

#![allow(dead_code)]

use sqlx::PgPool;

use crate::{cpu, wrk};

pub struct Load {
    pub figures: wrk::Figures,
    pub app_cpu: cpu::Cpu,
    pub postgres_cpu: cpu::Cpu,
}

/// `wrk` at `connections` for `seconds` over `requests` (path, token).
pub async fn measured(
    pool: &PgPool,
    database: &str,
    base: &str,
    requests: &[(String, String)],
    connections: usize,
    seconds: u64,
) -> Load {
    let requests: Vec<wrk::Request> = requests
        .iter()
        .map(|(path, token)| wrk::Request::get(path.clone(), token))
        .collect();
    let backends = cpu::snapshot(&cpu::backends(pool, database).await);
    let app = cpu::of_self();
    let figures = wrk::run(base, &requests, connections, seconds);
    Load {
        figures,
        app_cpu: cpu::of_self().since(&app),
        postgres_cpu: cpu::spent_since(&backends, &cpu::backends(pool, database).await),
    }
}

impl Load {
    /// Two lines: throughput and latency, then the CPU per request.
    pub fn print(&self, name: &str, extra: &str) {
        let f = &self.figures;
        println!(
            "{name:<26} {:>8.0} req/s  p50 {:>6.1} ms  p99 {:>6.1} ms{extra}  ({} errors)",
            f.rps, f.p50_ms, f.p99_ms, f.errors
        );
        let n = f.requests as usize;
        println!(
            "{:<26} CPU per request: app {:.3} ms (kernel {:.3}), PostgreSQL {:.3} ms",
            "",
            cpu::per_request(self.app_cpu.total(), n),
            cpu::per_request(self.app_cpu.system, n),
            cpu::per_request(self.postgres_cpu.total(), n),
        );
    }
}
