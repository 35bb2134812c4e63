//! The dated prices file and the usage profiles it carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::projection::{Media, Profile};

/// The prices file, bundled: `crates/cost/prices.json`.
pub const PRICES_JSON: &str = include_str!("../prices.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub as_of: String,
    pub currency: String,
    pub prices: BTreeMap<String, Price>,
    pub usage: BTreeMap<String, Usage>,
    pub serverless_per_photo: PerPhoto,
    /// Usage profiles of the projection, named as the `usage` ones.
    pub profiles: BTreeMap<String, Profile>,
    pub media: Media,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    pub eur: f64,
    pub unit: String,
    pub source: String,
    #[serde(default = "yes")]
    pub verified: bool,
    /// The day the price was read at its source, when it was re-read after
    /// the file's first version.
    #[serde(default)]
    pub checked: Option<String>,
}

fn yes() -> bool {
    true
}

/// What the deployment holds and serves in a month. Averages, so not
/// necessarily whole numbers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Usage {
    pub description: String,
    pub stored_gb: f64,
    pub photos_per_month: f64,
    pub cdn_egress_gb: f64,
    pub custom_metric_samples_million: f64,
}

/// Measured time of one photo in the media pipeline.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PerPhoto {
    pub source: String,
    pub cpu_seconds_at_one_vcpu: f64,
    pub io_seconds: f64,
}

impl Prices {
    /// The bundled prices file.
    pub fn bundled() -> Prices {
        Prices::parse(PRICES_JSON).expect("the bundled prices.json parses (tested)")
    }

    pub fn parse(text: &str) -> Result<Prices, String> {
        serde_json::from_str(text).map_err(|e| format!("prices file: {e}"))
    }

    /// The price of `key` (`instance.DEV1-M`), or an error naming it.
    pub fn get(&self, key: &str) -> Result<f64, String> {
        self.prices
            .get(key)
            .map(|p| p.eur)
            .ok_or_else(|| format!("no price for \"{key}\" in the prices file"))
    }

    pub fn usage(&self, profile: &str) -> Result<Usage, String> {
        self.usage.get(profile).cloned().ok_or_else(|| {
            format!(
                "no usage profile \"{profile}\" (known: {})",
                self.usage.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    pub fn profile(&self, name: &str) -> Result<Profile, String> {
        self.profiles.get(name).cloned().ok_or_else(|| {
            format!(
                "no projection profile \"{name}\" (known: {})",
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}
