//! `scripts/cost ENV [SCENARIO...] [--json] [--usage PROFILE] [--months N]`:
//! the month's cost of a Terraform environment, with scenario files applied
//! in order, component by component, from `crates/cost/prices.json`; with
//! `--months`, its projection month by month for issue 30's media choices.

use std::process::ExitCode;

use ciel_cost::{
    Choices, Knobs, Prices, compare, estimate, project, render, render_comparison,
    render_projection, signed_eur,
};
use tfcheck::cost::{knobs, tfvars_files};

const USAGE: &str = "\
usage: scripts/cost ENV [SCENARIO...] [--json] [--usage PROFILE] [--prices FILE] [--months N]
  ENV        dev | staging | prod (a directory of terraform/environments)
  SCENARIO   a scenario of ENV/scenarios: 1, 01, 08-production-ready, or a .tfvars path;
             several apply in order, like repeated -var-file
  --usage    usage profile of the prices file (default: production for prod, else dev)
  --months   project N months from an empty bucket (the profile's users, photos and views):
             today's media choices, each of issue 30's alone, and all of them
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
    let mut months = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--usage" => usage = Some(args.next().ok_or("--usage needs a profile")?),
            "--prices" => prices_file = Some(args.next().ok_or("--prices needs a file")?),
            "--months" => months = Some(months_arg(args.next())?),
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
    if let Some(months) = months {
        let files = tfvars_files(env, scenarios)?;
        return projection(env, &files, &usage, months, json, &prices);
    }
    let base = estimate(&knobs(env, &tfvars_files(env, &[])?)?, &usage, &prices)?;
    let files = tfvars_files(env, scenarios)?;
    let with = estimate(&knobs(env, &files)?, &usage, &prices)?;
    let names = file_names(&files);
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

fn months_arg(arg: Option<String>) -> Result<u32, String> {
    let arg = arg.ok_or("--months needs a number")?;
    match arg.parse::<u32>() {
        Ok(n) if (1..=120).contains(&n) => Ok(n),
        _ => Err(format!(
            "--months {arg}: a number of months from 1 to 120 is expected"
        )),
    }
}

fn file_names(files: &[std::path::PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(str::to_string))
        .collect()
}

/// `--months`: today's and the new choices month by month, then every
/// choice side by side.
fn projection(
    env: &str,
    files: &[std::path::PathBuf],
    profile: &str,
    months: u32,
    json: bool,
    prices: &Prices,
) -> Result<String, String> {
    let knobs: Knobs = knobs(env, files)?;
    let rows = compare(&knobs, profile, months, prices)?;
    let names = file_names(files);
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, p)| {
                serde_json::json!({
                    "name": name,
                    "choices": p.choices,
                    "total_eur": p.total_eur(),
                    "storage_eur": p.storage_eur(),
                    "egress_eur": p.egress_eur(),
                    "restore_eur": p.restore_eur(),
                    "compute_eur": p.compute_eur(),
                    "requests_eur": p.requests_eur(),
                    "fixed_eur": p.fixed_eur(),
                    "storage_per_photo_year_eur": p.storage_per_photo_year(),
                    "usage_per_photo_year_eur": p.usage_per_photo_year(),
                    "per_active_user_month_eur": p.per_active_user_month(),
                    "dominant": p.dominant().0,
                    "months": p.months,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "environment": env,
            "tfvars": names,
            "profile": prices.profile(profile)?,
            "prices_as_of": prices.as_of,
            "currency": prices.currency,
            "months": months,
            "projections": rows,
        });
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).expect("serialises")
        ));
    }
    let title = std::iter::once(env.to_string())
        .chain(names)
        .collect::<Vec<_>>()
        .join(" + ");
    let p = prices.profile(profile)?;
    let mut out = format!(
        "{title}: {months}-month projection in EUR (prices of {}, profile \"{profile}\": {} active users, \
         growing {}% a month, {} photos each a month, {} views a photo, {}% full screen, \
         {}% of originals read a month; the bucket starts empty)\n\n",
        prices.as_of,
        p.active_users,
        p.user_growth_per_month * 100.0,
        p.photos_per_user_month,
        p.views_per_photo,
        p.full_screen_share * 100.0,
        p.original_read_share_per_month * 100.0,
    );
    for (label, choices) in [
        ("Today", Choices::today(&knobs)),
        ("New", Choices::new_set()),
    ] {
        let projection = project(&knobs, profile, months, choices, prices)?;
        out.push_str(&render_projection(&projection, label));
        out.push('\n');
    }
    out.push_str(&format!("Over {months} months, per choice:\n"));
    out.push_str(&render_comparison(&rows));
    Ok(out)
}
