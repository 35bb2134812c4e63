//! The monthly cost of a Ciel deployment on Scaleway, component by
//! component, from the stack's knobs (the variables `terraform/stack`
//! receives), one dated prices file (`prices.json`, each price with its
//! source) and a usage profile (stored GB, photos a month, ...); and its
//! projection month by month, with storage growing, for issue 30's media
//! choices ([`projection`]).
//!
//! `scripts/cost` (the `cost` binary of `crates/tfcheck`) reads the knobs of
//! an environment and its scenario files from the Terraform tree itself;
//! `ciel advise` prices a scenario's step with [`scenario_delta`], from the
//! scenarios built in here ([`SCENARIOS`]), which tfcheck's tests compare
//! with the tfvars files so that the two cannot drift.

pub mod estimate;
pub mod knobs;
pub mod prices;
pub mod projection;
pub mod render;
pub mod scenarios;

pub use estimate::{Estimate, Line, Serverless, component, estimate, serverless};
pub use knobs::{Knobs, MODULE_KNOBS, SECRET_COUNT};
pub use prices::{PRICES_JSON, PerPhoto, Price, Prices, Usage};
pub use projection::{Choices, Driver, OriginalsClass, Projection, compare, project};
pub use render::{render, render_comparison, render_projection, signed_eur};
pub use scenarios::{SCENARIOS, Scenario, scenario, scenario_delta, scenario_overlay};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_price_has_a_source_and_every_scenario_an_overlay() {
        let prices = Prices::bundled();
        assert!(prices.as_of.len() == 10, "as_of is a date");
        for (key, p) in &prices.prices {
            assert!(!p.source.is_empty(), "{key} has no source");
            assert!(p.eur >= 0.0, "{key}");
        }
        for s in SCENARIOS {
            assert!(scenario_overlay(s.number).is_some(), "{}", s.file);
        }
        // A projection prices its fixed part with the usage profile of the
        // same name.
        for name in prices.profiles.keys() {
            assert!(prices.usage(name).is_ok(), "profile {name} has no usage");
        }
        assert!(!prices.profiles.is_empty());
    }
}
