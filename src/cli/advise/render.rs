//! The advice as a person reads it: the matrix, then the steps.

use super::{Advice, Row};

/// The advice as a table and a list of steps.
pub fn render(advice: &Advice) -> String {
    let mut out = String::from("Scaling decision matrix (terraform/README.md), measured now\n\n");
    out.push_str(&format!(
        "{:<30} {:>12} {:>12}  {:<5} {}\n",
        "symptom", "measured", "threshold", "fires", "how"
    ));
    for row in &advice.rows {
        let show = |v: f64| match row.unit {
            "s" => format!("{:.0} ms", v * 1000.0),
            "ratio" => format!("{:.0}%", v * 100.0),
            _ => format!("{v:.0}"),
        };
        out.push_str(&format!(
            "{:<30} {:>12} {:>12}  {:<5} {}\n",
            row.symptom,
            row.value.map_or_else(|| "-".to_string(), show),
            format!("> {}", show(row.threshold)),
            if row.fires { "YES" } else { "no" },
            row.detail,
        ));
    }
    out.push('\n');
    if let Some(drivers) = &advice.cost_drivers {
        out.push_str(&super::costs::render(drivers));
        out.push('\n');
    }
    if advice.actions.is_empty() {
        if advice.rows.iter().any(|r| r.fires) {
            out.push_str("No scaling step: the dead-letter queue holds failed jobs; see which photos failed (processing_abandoned).\n");
        } else {
            out.push_str("Nothing to do: no row fires.\n");
        }
        return out;
    }
    out.push_str(&format!(
        "Steps (costs from crates/cost/prices.json of {}, against dev at €{:.2}/month):\n",
        advice.prices_as_of, advice.baseline_monthly_eur
    ));
    for action in &advice.actions {
        out.push_str(&format!(
            "  Scenario {}: {} (because: {})\n    {}\n    cost: {}/month (€{:.2}/month in all)\n",
            action.scenario,
            action.title,
            action.because.join(", "),
            action.command,
            ciel_cost::signed_eur(action.monthly_delta_eur),
            action.monthly_total_eur,
        ));
    }
    let alternatives: Vec<&Row> = advice
        .rows
        .iter()
        .filter(|r| r.fires && r.scenarios.len() > 1)
        .collect();
    for row in alternatives {
        let list: Vec<String> = row.scenarios.iter().map(|n| n.to_string()).collect();
        out.push_str(&format!(
            "  \"{}\": the seed offers scenario {} (either)\n",
            row.symptom,
            list.join(" or ")
        ));
    }
    out
}
