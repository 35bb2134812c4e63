//! The cost of a deployment month by month over a horizon: storage grows
//! with every month's photos, per storage class; views leave through the
//! bucket or the CDN; the worker and the queue bill per photo. It compares
//! the media choices of issue 30 (which variants are kept, where originals
//! live, how views leave) on the same usage.

use serde::{Deserialize, Serialize};

use crate::estimate::{Estimate, cdn_month, component, estimate, per_photo};
use crate::knobs::Knobs;
use crate::prices::Prices;

const GB: f64 = 1e9;
/// A month, in days, for the days a restored original stays in Standard.
const DAYS_A_MONTH: f64 = 30.0;

/// Who uses the deployment, and how (`profiles` in `prices.json`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Profile {
    pub description: String,
    /// Users active in the first month.
    pub active_users: f64,
    /// Growth of the active users from one month to the next (0.05: +5 %).
    pub user_growth_per_month: f64,
    pub photos_per_user_month: f64,
    /// Views of a photo, all counted in the month it is posted (feeds
    /// show recent photos).
    pub views_per_photo: f64,
    /// Views that open the photo full screen (the 2048 px variant); the
    /// others show the feed size (1080 px).
    pub full_screen_share: f64,
    /// Originals read in a month (downloads, reprocessing), as a share of
    /// those stored.
    pub original_read_share_per_month: f64,
}

/// The bytes of a photo and of its variants (`media` in `prices.json`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Media {
    pub source: String,
    pub original_bytes: f64,
    pub today: VariantSet,
    pub webp_only: VariantSet,
}

/// What a photo's variants weigh, stored and viewed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct VariantSet {
    pub description: String,
    pub stored_bytes: f64,
    pub feed_view_bytes: f64,
    pub full_screen_view_bytes: f64,
    /// The worker's time for this set, as a share of today's.
    pub cpu_share: f64,
}

/// Where originals live once processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OriginalsClass {
    Standard,
    OneZone,
    Glacier,
}

impl OriginalsClass {
    fn price_key(self) -> &'static str {
        match self {
            OriginalsClass::Standard => "object_storage.standard_gb",
            OriginalsClass::OneZone => "object_storage.one_zone_gb",
            OriginalsClass::Glacier => "object_storage.glacier_gb",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OriginalsClass::Standard => "Standard",
            OriginalsClass::OneZone => "One Zone-IA",
            OriginalsClass::Glacier => "Glacier",
        }
    }
}

/// Issue 30's three choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choices {
    pub webp_only: bool,
    pub originals: OriginalsClass,
    /// Views leave through Edge Services rather than straight from the
    /// bucket.
    pub cdn: bool,
}

impl Choices {
    /// Today's: the eight variants, everything in Standard, and views through
    /// the CDN only where the environment has one.
    pub fn today(knobs: &Knobs) -> Choices {
        Choices {
            webp_only: false,
            originals: OriginalsClass::Standard,
            cdn: knobs.enable_cdn,
        }
    }

    /// The issue's: WebP only, originals in Glacier, views through the CDN.
    pub fn new_set() -> Choices {
        Choices {
            webp_only: true,
            originals: OriginalsClass::Glacier,
            cdn: true,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{}, originals {}, views via {}",
            if self.webp_only { "WebP" } else { "WebP+JPEG" },
            self.originals.name(),
            if self.cdn { "CDN" } else { "bucket" }
        )
    }
}

/// One month of the projection. Money in EUR, not rounded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Month {
    pub month: u32,
    pub active_users: f64,
    pub photos_posted: f64,
    /// Photos stored, on average over the month (posted evenly through it).
    pub photos_stored: f64,
    pub standard_gb: f64,
    pub cold_gb: f64,
    pub bucket_egress_gb: f64,
    pub cdn_egress_gb: f64,
    pub restored_gb: f64,
    pub storage_eur: f64,
    pub egress_eur: f64,
    pub restore_eur: f64,
    pub compute_eur: f64,
    pub requests_eur: f64,
    /// Everything that does not move with usage: instances, database, ...
    pub fixed_eur: f64,
}

impl Month {
    /// What moves with usage.
    pub fn usage_eur(&self) -> f64 {
        self.storage_eur + self.egress_eur + self.restore_eur + self.compute_eur + self.requests_eur
    }

    pub fn total_eur(&self) -> f64 {
        self.usage_eur() + self.fixed_eur
    }
}

/// A projection: the months and what they add up to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    pub choices: Choices,
    pub months: Vec<Month>,
}

/// The part of the bill that moves with usage, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Driver {
    Storage,
    Egress,
    Restore,
    Compute,
    Requests,
}

impl Projection {
    fn sum(&self, f: impl Fn(&Month) -> f64) -> f64 {
        self.months.iter().map(f).sum()
    }

    pub fn total_eur(&self) -> f64 {
        self.sum(Month::total_eur)
    }

    pub fn storage_eur(&self) -> f64 {
        self.sum(|m| m.storage_eur)
    }

    pub fn egress_eur(&self) -> f64 {
        self.sum(|m| m.egress_eur)
    }

    pub fn restore_eur(&self) -> f64 {
        self.sum(|m| m.restore_eur)
    }

    pub fn compute_eur(&self) -> f64 {
        self.sum(|m| m.compute_eur)
    }

    pub fn requests_eur(&self) -> f64 {
        self.sum(|m| m.requests_eur)
    }

    pub fn fixed_eur(&self) -> f64 {
        self.sum(|m| m.fixed_eur)
    }

    pub fn usage_eur(&self) -> f64 {
        self.sum(Month::usage_eur)
    }

    /// Photos kept for a year, over the horizon: the photo-months / 12.
    pub fn photo_years(&self) -> f64 {
        self.sum(|m| m.photos_stored) / 12.0
    }

    /// Keeping a photo for a year: storage (and restores) per photo-year.
    pub fn storage_per_photo_year(&self) -> f64 {
        (self.storage_eur() + self.restore_eur()) / self.photo_years()
    }

    /// Everything that moves with usage, per photo-year.
    pub fn usage_per_photo_year(&self) -> f64 {
        self.usage_eur() / self.photo_years()
    }

    /// The whole bill per active user a month.
    pub fn per_active_user_month(&self) -> f64 {
        self.total_eur() / self.sum(|m| m.active_users)
    }

    /// Which cause costs most over the horizon, among those that move with
    /// usage (what `ciel advise` can name).
    pub fn dominant(&self) -> (Driver, f64) {
        [
            (Driver::Storage, self.storage_eur()),
            (Driver::Egress, self.egress_eur()),
            (Driver::Restore, self.restore_eur()),
            (Driver::Compute, self.compute_eur()),
            (Driver::Requests, self.requests_eur()),
        ]
        .into_iter()
        .fold((Driver::Storage, f64::MIN), |best, next| {
            if next.1 > best.1 { next } else { best }
        })
    }
}

/// The components [`project`] prices itself, month by month; the others
/// are the fixed part, as [`estimate`] prices them.
const USAGE_COMPONENTS: &[&str] = &[
    component::STORAGE,
    component::MESSAGING,
    component::SERVERLESS,
    component::CDN,
];

fn fixed_eur(bill: &Estimate) -> f64 {
    bill.lines
        .iter()
        .filter(|l| !USAGE_COMPONENTS.contains(&l.component.as_str()))
        .map(|l| l.eur)
        .sum()
}

/// The prices a month needs, read once.
struct Rates {
    standard_gb: f64,
    originals_gb: f64,
    restore_gb: f64,
    bucket_egress_gb: f64,
    bucket_free_egress_gb: f64,
    sqs_million: f64,
    sqs_free: f64,
}

impl Rates {
    fn read(prices: &Prices, originals: OriginalsClass) -> Result<Rates, String> {
        Ok(Rates {
            standard_gb: prices.get(OriginalsClass::Standard.price_key())?,
            originals_gb: prices.get(originals.price_key())?,
            restore_gb: match originals {
                OriginalsClass::Glacier => prices.get("object_storage.glacier_restore_gb")?,
                _ => 0.0,
            },
            bucket_egress_gb: prices.get("object_storage.egress_gb")?,
            bucket_free_egress_gb: prices.get("object_storage.free_egress_gb")?,
            sqs_million: prices.get("sqs.million_requests")?,
            sqs_free: prices.get("sqs.free_requests")?,
        })
    }
}

/// `months` months of a deployment with `knobs`, used as `profile` says,
/// with the media `choices`. The bucket starts empty.
pub fn project(
    knobs: &Knobs,
    profile_name: &str,
    months: u32,
    choices: Choices,
    prices: &Prices,
) -> Result<Projection, String> {
    if months == 0 {
        return Err("a projection needs at least one month".into());
    }
    let model = Model::new(knobs, profile_name, choices, prices)?;
    let mut stored_before = 0.0;
    let mut out = Vec::new();
    for month in 1..=months {
        let m = model.month(month, stored_before)?;
        stored_before += m.photos_posted;
        out.push(m);
    }
    Ok(Projection {
        choices,
        months: out,
    })
}

/// Today's choices, each of the alone on top of them, and all of
/// them: (what the row is, its projection).
pub fn compare(
    knobs: &Knobs,
    profile_name: &str,
    months: u32,
    prices: &Prices,
) -> Result<Vec<(String, Projection)>, String> {
    let today = Choices::today(knobs);
    let all = Choices::new_set();
    let mut rows = vec![(format!("today: {}", today.describe()), today)];
    rows.push((
        "+ WebP only".into(),
        Choices {
            webp_only: true,
            ..today
        },
    ));
    for originals in [OriginalsClass::OneZone, OriginalsClass::Glacier] {
        rows.push((
            format!("+ originals in {}", originals.name()),
            Choices { originals, ..today },
        ));
    }
    if !today.cdn {
        rows.push((
            "+ views through the CDN".into(),
            Choices { cdn: true, ..today },
        ));
    }
    rows.push((format!("new: {}", all.describe()), all));
    rows.into_iter()
        .map(|(name, choices)| Ok((name, project(knobs, profile_name, months, choices, prices)?)))
        .collect()
}

/// Everything a month needs that does not change from month to month.
struct Model<'a> {
    prices: &'a Prices,
    profile: Profile,
    choices: Choices,
    variants: &'a VariantSet,
    original_gb: f64,
    rates: Rates,
    cdn_plan: String,
    compute: PhotoCompute,
    fixed_eur: f64,
}

impl<'a> Model<'a> {
    fn new(
        knobs: &Knobs,
        profile_name: &str,
        choices: Choices,
        prices: &'a Prices,
    ) -> Result<Model<'a>, String> {
        let media = &prices.media;
        let variants = if choices.webp_only {
            &media.webp_only
        } else {
            &media.today
        };
        Ok(Model {
            prices,
            profile: prices.profile(profile_name)?,
            choices,
            variants,
            original_gb: media.original_bytes / GB,
            rates: Rates::read(prices, choices.originals)?,
            cdn_plan: knobs.edge_services_plan.clone(),
            compute: PhotoCompute::new(knobs, variants, prices)?,
            fixed_eur: fixed_eur(&estimate(knobs, profile_name, prices)?),
        })
    }

    /// Month `month`, after `stored_before` photos. A month's photos are
    /// posted evenly through it: on average, half of them are stored.
    fn month(&self, month: u32, stored_before: f64) -> Result<Month, String> {
        let profile = &self.profile;
        let users =
            profile.active_users * (1.0 + profile.user_growth_per_month).powi(month as i32 - 1);
        let posted = users * profile.photos_per_user_month;
        let stored = stored_before + posted / 2.0;
        let (standard_gb, cold_gb) = self.stored_gb(stored);
        let (bucket_gb, cdn_gb, restored_gb) = self.transfer_gb(stored, posted);
        let rates = &self.rates;
        Ok(Month {
            month,
            active_users: users,
            photos_posted: posted,
            photos_stored: stored,
            standard_gb,
            cold_gb,
            bucket_egress_gb: bucket_gb,
            cdn_egress_gb: cdn_gb,
            restored_gb,
            storage_eur: standard_gb * rates.standard_gb + cold_gb * rates.originals_gb,
            egress_eur: self.egress_eur(bucket_gb, cdn_gb)?,
            restore_eur: restored_gb * (rates.restore_gb + rates.standard_gb / DAYS_A_MONTH),
            compute_eur: self.compute.month_eur(posted),
            requests_eur: sqs_eur(posted, rates),
            fixed_eur: self.fixed_eur,
        })
    }

    /// (Standard GB, cold GB): variants always in Standard, originals in
    /// their class.
    fn stored_gb(&self, stored: f64) -> (f64, f64) {
        let variants_gb = stored * self.variants.stored_bytes / GB;
        let originals_gb = stored * self.original_gb;
        match self.choices.originals {
            OriginalsClass::Standard => (variants_gb + originals_gb, 0.0),
            _ => (variants_gb, originals_gb),
        }
    }

    /// (bucket egress, CDN egress, restored from Glacier), in GB. Views of
    /// a photo happen in the month it is posted. Originals are fetched
    /// with presigned links on the bucket, never through the CDN; a Glacier
    /// one is restored to Standard first, for a day (Scaleway's default).
    fn transfer_gb(&self, stored: f64, posted: f64) -> (f64, f64, f64) {
        let (profile, variants) = (&self.profile, self.variants);
        let view_bytes = (1.0 - profile.full_screen_share) * variants.feed_view_bytes
            + profile.full_screen_share * variants.full_screen_view_bytes;
        let views_gb = posted * profile.views_per_photo * view_bytes / GB;
        let reads_gb = stored * profile.original_read_share_per_month * self.original_gb;
        let restored_gb = match self.choices.originals {
            OriginalsClass::Glacier => reads_gb,
            _ => 0.0,
        };
        if self.choices.cdn {
            (reads_gb, views_gb, restored_gb)
        } else {
            (reads_gb + views_gb, 0.0, restored_gb)
        }
    }

    /// The bucket's egress past its free GB, and the CDN's plan and egress
    /// past what the plan includes.
    fn egress_eur(&self, bucket_gb: f64, cdn_gb: f64) -> Result<f64, String> {
        let rates = &self.rates;
        let bucket = (bucket_gb - rates.bucket_free_egress_gb).max(0.0) * rates.bucket_egress_gb;
        let cdn = if self.choices.cdn {
            cdn_month(self.prices, &self.cdn_plan, cdn_gb)?
        } else {
            0.0
        };
        Ok(bucket + cdn)
    }
}

/// A photo: one send, one receive (or trigger pull) and one delete on the
/// queue. Object Storage requests are not billed (`object_storage.requests`).
fn sqs_eur(posted: f64, rates: &Rates) -> f64 {
    (posted * 3.0 - rates.sqs_free).max(0.0) / 1e6 * rates.sqs_million
}

/// The serverless worker's cost of a month's photos, past the free tier.
struct PhotoCompute {
    vcpu_s: f64,
    gb_s: f64,
    free_vcpu_s: f64,
    free_gb_s: f64,
    vcpu_s_eur: f64,
    gb_s_eur: f64,
}

impl PhotoCompute {
    fn new(knobs: &Knobs, variants: &VariantSet, prices: &Prices) -> Result<PhotoCompute, String> {
        if !knobs.enable_serverless_worker {
            // Worker instances are in the fixed part.
            return Ok(PhotoCompute {
                vcpu_s: 0.0,
                gb_s: 0.0,
                free_vcpu_s: 0.0,
                free_gb_s: 0.0,
                vcpu_s_eur: 0.0,
                gb_s_eur: 0.0,
            });
        }
        let (_, vcpu_s, gb_s) = per_photo(knobs, prices);
        Ok(PhotoCompute {
            vcpu_s: vcpu_s * variants.cpu_share,
            gb_s: gb_s * variants.cpu_share,
            free_vcpu_s: prices.get("serverless.free_vcpu_s")?,
            free_gb_s: prices.get("serverless.free_gb_s")?,
            vcpu_s_eur: prices.get("serverless.vcpu_s")?,
            gb_s_eur: prices.get("serverless.gb_s")?,
        })
    }

    fn month_eur(&self, photos: f64) -> f64 {
        (photos * self.vcpu_s - self.free_vcpu_s).max(0.0) * self.vcpu_s_eur
            + (photos * self.gb_s - self.free_gb_s).max(0.0) * self.gb_s_eur
    }
}
