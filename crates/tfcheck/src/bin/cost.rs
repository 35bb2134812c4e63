//! `scripts/cost ENV [SCENARIO...] [--json] [--usage PROFILE]`: the month's
//! cost of a Terraform environment, with scenario files applied in order,
//! component by component, from `crates/cost/prices.json`.

use std::process::ExitCode;

use ciel_cost::{Prices, estimate, render, signed_eur};
use tfcheck::cost::{knobs, tfvars_files};

const USAGE: &str = "\
usage: scripts/cost ENV [SCENARIO...] [--json] [--usage PROFILE] [--prices FILE]
  ENV        dev | staging | prod (a directory of terraform/environments)
  SCENARIO   a scenario of ENV/scenarios: 1, 01, 08-production-ready, or a .tfvars path;
             several apply in order, like repeated -var-file
  --usage    usage profile of the prices file (default: production for prod, else dev)
  --json     one JSON document instead of the table";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cost: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let (mut json, mut usage, mut prices_file, mut positional) = (false, None, None, vec![]);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--usage" => usage = Some(args.next().ok_or("--usage needs a profile")?),
            "--prices" => prices_file = Some(args.next().ok_or("--prices needs a file")?),
            "-h" | "--help" => return Ok(format!("{USAGE}\n")),
            a if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}")),
            _ => positional.push(arg),
        }
    }
    let Some((env, scenarios)) = positional.split_first() else {
        return Err(USAGE.to_string());
    };
    let prices = match prices_file {
        Some(path) => {
            Prices::parse(&std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?)?
        }
        None => Prices::bundled(),
    };
    let usage = usage.unwrap_or_else(|| if env == "prod" { "production" } else { "dev" }.into());
    let base = estimate(&knobs(env, &tfvars_files(env, &[])?)?, &usage, &prices)?;
    let files = tfvars_files(env, scenarios)?;
    let with = estimate(&knobs(env, &files)?, &usage, &prices)?;
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(str::to_string))
        .collect();
    let delta = ((with.total - base.total) * 100.0).round() / 100.0;
    if json {
        let doc = serde_json::json!({
            "environment": env,
            "tfvars": names,
            "currency": prices.currency,
            "estimate": with,
            "baseline_total": base.total,
            "delta": delta,
        });
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).expect("serialises")
        ));
    }
    let title = std::iter::once(env.clone())
        .chain(names.iter().cloned())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut out = render(&with, &title);
    if !scenarios.is_empty() {
        out.push_str(&format!(
            "Against {env} alone ({:.2}): {}/month\n",
            base.total,
            signed_eur(delta)
        ));
    }
    Ok(out)
}
