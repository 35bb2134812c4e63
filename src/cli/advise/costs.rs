//! What the bill grows with: a year's projection (`ciel_cost::project`) of
//! the uploads measured in the database, and which cause dominates what
//! moves with usage. Storage and egress are named when they dominate, with
//! what lowers them; the scaling rows above never would (they watch
//! latency, memory and queues, not the bucket).

use serde::Serialize;

use ciel_cost::{Choices, Driver, Knobs, OriginalsClass, Prices, Projection};

/// The horizon of the projection, in months.
pub const MONTHS: u32 = 12;
/// A cause is named when it takes at least this share of what moves with
/// usage, or when it is the largest one.
pub const NAMED_SHARE: f64 = 0.5;

/// The uploads of the last 30 days, from the database.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Uploads {
    pub photos: f64,
    pub uploaders: f64,
}

/// A cause of cost worth naming.
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    /// `storage` or `egress`.
    pub driver: &'static str,
    pub eur: f64,
    /// Its share of what moves with usage over the horizon.
    pub share: f64,
    pub advice: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostDrivers {
    /// The usage projected: measured uploads, or the dev profile.
    pub basis: String,
    pub months: u32,
    pub choices: String,
    pub usage_eur: f64,
    pub storage_eur: f64,
    pub egress_eur: f64,
    pub compute_eur: f64,
    pub restore_eur: f64,
    pub requests_eur: f64,
    /// The largest cause (`Projection::dominant`).
    pub dominant: &'static str,
    pub named: Vec<Named>,
}

fn driver_name(driver: Driver) -> &'static str {
    match driver {
        Driver::Storage => "storage",
        Driver::Egress => "egress",
        Driver::Restore => "restore",
        Driver::Compute => "compute",
        Driver::Requests => "requests",
    }
}

const STORAGE_ADVICE: &str = "originals in Glacier (WORKER_ORIGINALS_CLASS=GLACIER, the storage module's originals-to-glacier rule) and WebP-only variants (issue 30); scripts/cost projects the choices";
const EGRESS_ADVICE: &str = "serve variants through the CDN (enable_cdn, Edge Services: scenario 8) and keep them WebP (a full-screen view is ~60 KB instead of ~187 KB in JPEG)";

/// The causes of `projection` to name: storage and egress, when either is
/// the largest or takes at least [`NAMED_SHARE`] of what moves with usage.
pub fn named(projection: &Projection) -> Vec<Named> {
    let usage = projection.usage_eur();
    if usage <= 0.0 {
        return Vec::new();
    }
    let (dominant, _) = projection.dominant();
    [
        (Driver::Storage, projection.storage_eur(), STORAGE_ADVICE),
        (Driver::Egress, projection.egress_eur(), EGRESS_ADVICE),
    ]
    .into_iter()
    .filter(|&(driver, eur, _)| eur > 0.0 && (driver == dominant || eur / usage >= NAMED_SHARE))
    .map(|(driver, eur, advice)| Named {
        driver: driver_name(driver),
        eur,
        share: eur / usage,
        advice,
    })
    .collect()
}

/// Projects the deployment's media choices (WebP only, originals in
/// Glacier, the CDN where `knobs` has one) over [`MONTHS`], for the
/// measured uploads (their uploaders as the active users, the dev
/// profile's views per photo) or, with none measured, the dev profile.
pub fn project(knobs: &Knobs, uploads: Option<Uploads>) -> Result<CostDrivers, String> {
    let mut prices = Prices::bundled();
    let mut profile = prices.profile("dev")?;
    let (name, basis) = match uploads {
        Some(u) if u.photos > 0.0 && u.uploaders > 0.0 => {
            profile.active_users = u.uploaders;
            profile.photos_per_user_month = u.photos / u.uploaders;
            profile.user_growth_per_month = 0.0;
            let usage = prices.usage("dev")?;
            prices.profiles.insert("measured".into(), profile);
            prices.usage.insert("measured".into(), usage);
            (
                "measured",
                format!(
                    "{:.0} photos by {:.0} users in the last 30 days, kept at that rate; views as the dev profile",
                    u.photos, u.uploaders
                ),
            )
        }
        _ => ("dev", "the dev profile (no uploads measured)".to_string()),
    };
    let choices = Choices {
        webp_only: true,
        originals: OriginalsClass::Glacier,
        cdn: knobs.enable_cdn,
    };
    let projection = ciel_cost::project(knobs, name, MONTHS, choices, &prices)?;
    Ok(CostDrivers {
        basis,
        months: MONTHS,
        choices: choices.describe(),
        usage_eur: projection.usage_eur(),
        storage_eur: projection.storage_eur(),
        egress_eur: projection.egress_eur(),
        compute_eur: projection.compute_eur(),
        restore_eur: projection.restore_eur(),
        requests_eur: projection.requests_eur(),
        dominant: driver_name(projection.dominant().0),
        named: named(&projection),
    })
}

/// The section of the advice as a person reads it.
pub fn render(drivers: &CostDrivers) -> String {
    let mut out = format!(
        "What the bill grows with ({} months of {}; {}):\n  usage €{:.2}: storage €{:.2}, egress €{:.2}, compute €{:.2}, restores €{:.2}, requests €{:.2}\n",
        drivers.months,
        drivers.basis,
        drivers.choices,
        drivers.usage_eur,
        drivers.storage_eur,
        drivers.egress_eur,
        drivers.compute_eur,
        drivers.restore_eur,
        drivers.requests_eur,
    );
    if drivers.named.is_empty() {
        out.push_str(&format!(
            "  {} leads; neither storage nor egress dominates.\n",
            drivers.dominant
        ));
    }
    for n in &drivers.named {
        out.push_str(&format!(
            "  {} dominates: €{:.2}, {:.0}% of usage. Lower it: {}.\n",
            n.driver,
            n.eur,
            n.share * 100.0,
            n.advice
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uploads(photos: f64, uploaders: f64) -> Option<Uploads> {
        Some(Uploads { photos, uploaders })
    }

    #[test]
    fn storage_is_named_when_photos_pile_up_and_egress_when_views_do() {
        let dev = Knobs::default();
        // Many photos, the bucket's free egress: storage leads.
        let piled = project(&dev, uploads(200_000.0, 1_000.0)).unwrap();
        assert_eq!(piled.dominant, "storage", "{piled:?}");
        assert_eq!(piled.named[0].driver, "storage");
        assert!(render(&piled).contains("storage dominates"));
        // Without a CDN, scenario 8's views (450 a photo) leave through the
        // bucket: egress leads.
        let choices = Choices {
            webp_only: true,
            originals: OriginalsClass::Glacier,
            cdn: false,
        };
        let viewed =
            ciel_cost::project(&dev, "production", MONTHS, choices, &Prices::bundled()).unwrap();
        assert_eq!(viewed.dominant().0, Driver::Egress);
        let names = named(&viewed);
        assert_eq!(names[0].driver, "egress", "{names:?}");
        assert!(names[0].share > 0.0 && names[0].eur == viewed.egress_eur());
        // Nothing measured: the dev profile, named as such.
        let dev_profile = project(&dev, None).unwrap();
        assert!(dev_profile.basis.contains("dev profile"));
        assert!(dev_profile.usage_eur >= 0.0);
    }

    #[test]
    fn a_cause_below_half_that_does_not_lead_is_not_named() {
        let dev = Knobs::default();
        for u in [uploads(10.0, 1.0), uploads(200_000.0, 1_000.0), None] {
            let d = project(&dev, u).unwrap();
            for n in &d.named {
                assert!(n.driver == d.dominant || n.share >= NAMED_SHARE, "{d:?}");
            }
        }
    }
}
