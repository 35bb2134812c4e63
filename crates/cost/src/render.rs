//! The bill as text.

use crate::estimate::Estimate;
use crate::projection::Projection;

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

/// A projection, month by month.
pub fn render_projection(projection: &Projection, title: &str) -> String {
    let mut out = format!("{title}: {}\n", projection.choices.describe());
    out.push_str(&format!(
        "{:>5} {:>8} {:>10} {:>10} {:>9} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}\n",
        "month",
        "users",
        "stored",
        "Std GB",
        "cold GB",
        "bucket GB",
        "CDN GB",
        "storage",
        "egress",
        "restore",
        "compute",
        "requests",
        "fixed",
        "total EUR"
    ));
    for m in &projection.months {
        out.push_str(&format!(
            "{:>5} {:>8.0} {:>10.0} {:>10.1} {:>9.1} {:>10.1} {:>9.1} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}\n",
            m.month,
            m.active_users,
            m.photos_stored,
            m.standard_gb,
            m.cold_gb,
            m.bucket_egress_gb,
            m.cdn_egress_gb,
            m.storage_eur,
            m.egress_eur,
            m.restore_eur,
            m.compute_eur,
            m.requests_eur,
            m.fixed_eur,
            m.total_eur()
        ));
    }
    out.push_str(&format!(
        "{:<59} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}\n",
        "Total",
        projection.storage_eur(),
        projection.egress_eur(),
        projection.restore_eur(),
        projection.compute_eur(),
        projection.requests_eur(),
        projection.fixed_eur(),
        projection.total_eur()
    ));
    out
}

/// Each set of choices over the same horizon, one line each.
pub fn render_comparison(rows: &[(String, Projection)]) -> String {
    let mut out = format!(
        "{:<58} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10} {:>9}\n",
        "choices",
        "total EUR",
        "storage",
        "egress",
        "restore",
        "compute",
        "requests",
        "store/ph-y",
        "usage/ph-y",
        "/user-mo",
        "largest"
    );
    for (name, p) in rows {
        out.push_str(&format!(
            "{:<58} {:>10.2} {:>9.2} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>10.6} {:>10.6} {:>10.4} {:>9}\n",
            name,
            p.total_eur(),
            p.storage_eur(),
            p.egress_eur(),
            p.restore_eur(),
            p.compute_eur(),
            p.requests_eur(),
            p.storage_per_photo_year(),
            p.usage_per_photo_year(),
            p.per_active_user_month(),
            format!("{:?}", p.dominant().0).to_lowercase()
        ));
    }
    out
}
