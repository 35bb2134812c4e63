//! The projection by the year (issue 30): storage grows month by month, a
//! cold class trades storage for restores, WebP only lowers bytes and
//! egress, and the per-photo-year figures come from the monthly series.

use ciel_cost::projection::Driver;
use ciel_cost::{
    Choices, Knobs, OriginalsClass, Prices, Projection, compare, project, scenario_overlay,
};

const MONTHS: u32 = 12;

fn today() -> Choices {
    Choices::today(&Knobs::default())
}

fn dev(choices: Choices, prices: &Prices) -> Projection {
    project(&Knobs::default(), "dev", MONTHS, choices, prices).unwrap()
}

fn scenario_8() -> Knobs {
    Knobs::default().with(&scenario_8_overlay()).unwrap()
}

fn scenario_8_overlay() -> Vec<(&'static str, serde_json::Value)> {
    scenario_overlay(8).unwrap()
}

#[test]
fn storage_grows_month_by_month() {
    let prices = Prices::bundled();
    for choices in [today(), Choices::new_set()] {
        let p = dev(choices, &prices);
        assert_eq!(p.months.len(), MONTHS as usize);
        for pair in p.months.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            assert!(after.photos_stored > before.photos_stored);
            assert!(
                after.standard_gb + after.cold_gb > before.standard_gb + before.cold_gb,
                "{choices:?}: month {} holds no more than month {}",
                after.month,
                before.month
            );
            assert!(after.storage_eur > before.storage_eur, "{choices:?}");
        }
        // Posted evenly through each month: month 1 holds half its photos.
        let first = &p.months[0];
        assert_eq!(first.photos_stored, first.photos_posted / 2.0);
    }
}

#[test]
fn a_cold_class_lowers_storage_and_adds_restores_when_originals_are_read() {
    let mut prices = Prices::bundled();
    let standard = dev(today(), &prices);
    let glacier = dev(
        Choices {
            originals: OriginalsClass::Glacier,
            ..today()
        },
        &prices,
    );
    let one_zone = dev(
        Choices {
            originals: OriginalsClass::OneZone,
            ..today()
        },
        &prices,
    );
    assert!(glacier.storage_eur() < one_zone.storage_eur());
    assert!(one_zone.storage_eur() < standard.storage_eur());
    assert_eq!(standard.restore_eur(), 0.0);
    assert_eq!(one_zone.restore_eur(), 0.0);
    assert!(glacier.restore_eur() > 0.0);
    // Originals leave the Standard class, variants stay.
    let last = glacier.months.last().unwrap();
    assert!(last.cold_gb > 0.0 && last.standard_gb > 0.0);
    assert_eq!(standard.months.last().unwrap().cold_gb, 0.0);

    // The restores come from reading originals: none read, none restored.
    prices
        .profiles
        .get_mut("dev")
        .unwrap()
        .original_read_share_per_month = 0.0;
    let unread = dev(glacier.choices, &prices);
    assert_eq!(unread.restore_eur(), 0.0);
    assert_eq!(unread.storage_eur(), glacier.storage_eur());
    // Reading all of them every month costs more in restores than Glacier
    // saves: the class only pays for originals that are rarely read.
    prices
        .profiles
        .get_mut("dev")
        .unwrap()
        .original_read_share_per_month = 2.0;
    let hot = dev(glacier.choices, &prices);
    assert!(
        hot.storage_eur() + hot.restore_eur() > standard.storage_eur(),
        "restores {:.2} + storage {:.2} vs Standard {:.2}",
        hot.restore_eur(),
        hot.storage_eur(),
        standard.storage_eur()
    );
}

#[test]
fn webp_only_lowers_bytes_and_egress() {
    let prices = Prices::bundled();
    let knobs = scenario_8();
    let with_jpeg = project(
        &knobs,
        "production",
        MONTHS,
        Choices::today(&knobs),
        &prices,
    )
    .unwrap();
    let webp = project(
        &knobs,
        "production",
        MONTHS,
        Choices {
            webp_only: true,
            ..Choices::today(&knobs)
        },
        &prices,
    )
    .unwrap();
    for (a, b) in with_jpeg.months.iter().zip(&webp.months) {
        assert!(b.standard_gb < a.standard_gb, "month {}", a.month);
        assert!(b.cdn_egress_gb < a.cdn_egress_gb, "month {}", a.month);
        assert_eq!(
            b.bucket_egress_gb, a.bucket_egress_gb,
            "originals are the same"
        );
    }
    assert!(webp.egress_eur() < with_jpeg.egress_eur());
    assert!(webp.storage_eur() < with_jpeg.storage_eur());
    // The measured sets: 391,048 bytes of variants today, 103,234 in WebP;
    // a full-screen view 186,720 (large.jpeg) against 59,980 (large.webp).
    let media = &prices.media;
    assert_eq!(media.today.stored_bytes, 391_048.0);
    assert_eq!(media.webp_only.stored_bytes, 103_234.0);
    assert_eq!(
        (
            media.today.full_screen_view_bytes,
            media.webp_only.full_screen_view_bytes
        ),
        (186_720.0, 59_980.0)
    );
}

#[test]
fn per_photo_year_is_the_monthly_series_over_photo_months() {
    let prices = Prices::bundled();
    for choices in [today(), Choices::new_set()] {
        let p = dev(choices, &prices);
        let photo_months: f64 = p.months.iter().map(|m| m.photos_stored).sum();
        let storage: f64 = p.months.iter().map(|m| m.storage_eur + m.restore_eur).sum();
        let usage: f64 = p.months.iter().map(|m| m.usage_eur()).sum();
        let total: f64 = p.months.iter().map(|m| m.total_eur()).sum();
        let users: f64 = p.months.iter().map(|m| m.active_users).sum();
        close(p.storage_per_photo_year(), storage / (photo_months / 12.0));
        close(p.usage_per_photo_year(), usage / (photo_months / 12.0));
        close(p.per_active_user_month(), total / users);
        close(p.total_eur(), total);
    }
    // All in Standard, a photo-year is the photo's bytes at the Standard
    // price for 12 months: the "about €0.0006 a year" for a ~3 MB
    // original and ~391 KB of variants.
    let p = dev(today(), &prices);
    let gb = (prices.media.original_bytes + prices.media.today.stored_bytes) / 1e9;
    let standard = prices.get("object_storage.standard_gb").unwrap();
    close(p.storage_per_photo_year(), gb * standard * 12.0);
    assert!((0.00055..0.00065).contains(&p.storage_per_photo_year()));
}

#[test]
fn the_comparison_has_today_each_choice_and_all_of_them() {
    let prices = Prices::bundled();
    let rows = compare(&Knobs::default(), "dev", MONTHS, &prices).unwrap();
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names[0].starts_with("today"), "{names:?}");
    assert!(names[5].starts_with("new"), "{names:?}");
    assert_eq!(rows[0].1.choices, today());
    assert_eq!(rows[5].1.choices, Choices::new_set());
    // Scenario 8 has the CDN already: no row adds it.
    let rows = compare(&scenario_8(), "production", MONTHS, &prices).unwrap();
    assert_eq!(rows.len(), 5);
    // Dev's bill that moves with usage is storage; scenario 8's is egress.
    assert_eq!(dev(today(), &prices).dominant().0, Driver::Storage);
    assert_eq!(rows[0].1.dominant().0, Driver::Egress);
}

#[test]
fn bad_input_is_a_clear_error() {
    let prices = Prices::bundled();
    let err = project(&Knobs::default(), "galactic", MONTHS, today(), &prices).unwrap_err();
    assert!(err.contains("no projection profile \"galactic\""), "{err}");
    let err = project(&Knobs::default(), "dev", 0, today(), &prices).unwrap_err();
    assert!(err.contains("at least one month"), "{err}");
}

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}
