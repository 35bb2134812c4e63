//! CPU time spent by this process (the app, in process, and the load
//! generator) and by the PostgreSQL backends of one database: on a shared
//! machine, CPU per request is steadier than throughput.

use std::collections::HashMap;
use std::time::Duration;

/// Clock ticks per second of /proc's counters (Linux's USER_HZ).
const TICKS_PER_SEC: f64 = 100.0;

#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub user: Duration,
    pub system: Duration,
}

impl Cpu {
    pub fn total(&self) -> Duration {
        self.user + self.system
    }

    pub fn since(&self, earlier: &Cpu) -> Cpu {
        Cpu {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// utime and stime of a process, from /proc/PID/stat (zero if it is gone).
pub fn of_pid(pid: &str) -> Cpu {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Cpu::default();
    };
    // The command name may hold spaces: count fields after its ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat; 12 and 13 after the state field's start.
    Cpu {
        user: Duration::from_secs_f64(ticks(11) / TICKS_PER_SEC),
        system: Duration::from_secs_f64(ticks(12) / TICKS_PER_SEC),
    }
}

pub fn of_self() -> Cpu {
    of_pid("self")
}

/// The PostgreSQL backends serving clients of `database` now (not its
/// autovacuum workers, whose work after a bulk load is not the requests').
/// The asking connection included: left out of one list and not of the
/// next (another pooled connection asking), it would count from zero, and
/// a connection that did the seeding holds seconds of CPU.
pub async fn backends(pool: &sqlx::PgPool, database: &str) -> Vec<String> {
    sqlx::query_scalar::<_, i32>(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = $1 AND backend_type = 'client backend'",
    )
    .bind(database)
    .fetch_all(pool)
    .await
    .unwrap_or_default()
    .into_iter()
    .map(|pid| pid.to_string())
    .collect()
}

/// The CPU of each of `pids` now.
pub fn snapshot(pids: &[String]) -> HashMap<String, Cpu> {
    pids.iter().map(|p| (p.clone(), of_pid(p))).collect()
}

/// What `pids` (the backends now) spent since `before` (a backend that
/// started since counts from zero).
pub fn spent_since(before: &HashMap<String, Cpu>, pids: &[String]) -> Cpu {
    pids.iter()
        .map(|p| of_pid(p).since(&before.get(p).copied().unwrap_or_default()))
        .fold(Cpu::default(), |a, b| Cpu {
            user: a.user + b.user,
            system: a.system + b.system,
        })
}

/// Milliseconds per request.
pub fn per_request(cpu: Duration, requests: usize) -> f64 {
    cpu.as_secs_f64() * 1000.0 / requests.max(1) as f64
}
