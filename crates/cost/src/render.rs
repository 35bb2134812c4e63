//! The bill as text.

use crate::estimate::Estimate;

/// `+€19.00` / `-€7.00` / `±€0.00`.
pub fn signed_eur(delta: f64) -> String {
    if delta > 0.004 {
        format!("+€{delta:.2}")
    } else if delta < -0.004 {
        format!("-€{:.2}", -delta)
    } else {
        "±€0.00".to_string()
    }
}

/// The estimate as a table, one line per component.
pub fn render(estimate: &Estimate, title: &str) -> String {
    let mut out = format!(
        "{title}: monthly cost in EUR (prices of {}, usage profile \"{}\")\n",
        estimate.prices_as_of, estimate.usage_profile
    );
    out.push_str(&format!(
        "{:<22} {:<60} {:>9}\n",
        "component", "resource", "EUR/month"
    ));
    for l in &estimate.lines {
        out.push_str(&format!(
            "{:<22} {:<60} {:>9.2}\n",
            l.component, l.resource, l.eur
        ));
    }
    out.push_str(&format!(
        "{:<22} {:<60} {:>9.2}\n",
        "Total", "", estimate.total
    ));
    if let Some(s) = &estimate.serverless {
        out.push_str(&format!(
            "Serverless worker at {} mvCPU / {} MB: {:.2} s, {:.3} vCPU-s and {:.3} GB-s per photo; \
             the free tier (200K vCPU-s, 400K GB-s) covers {:.0} photos a month\n",
            s.cpu_mvcpu,
            s.memory_mb,
            s.seconds_per_photo,
            s.vcpu_s_per_photo,
            s.gb_s_per_photo,
            s.free_tier_photos
        ));
    }
    out
}
