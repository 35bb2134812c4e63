//! The names and formats of processed variants, typed from the pipeline's
//! output to the rows (text columns) and to the API's photo objects.

use std::str::FromStr;

use serde::Serialize;
use sqlx::Postgres;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use utoipa::ToSchema;

/// The sizes: `thumb` (320), `small` (640), `medium` (1080) and `large`
/// (2048 px on the longest edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VariantName {
    Thumb,
    Small,
    Medium,
    Large,
}

/// The encodings a variant is stored in. Every photo has `webp` at each of
/// its sizes; only photos processed before issue 30 (WebP only) also have
/// `jpeg` copies, so an app picks `webp` and never needs a fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VariantFormat {
    Webp,
    Jpeg,
}

/// Spells each value once, for its column, its JSON and its parse.
macro_rules! text_enum {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text,)* }
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($ty::$variant),)*
                    other => Err(format!("{other:?} is not a {}", stringify!($ty))),
                }
            }
        }

        impl sqlx::Type<Postgres> for $ty {
            fn type_info() -> PgTypeInfo {
                <&str as sqlx::Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as sqlx::Type<Postgres>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, Postgres> for $ty {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<&str as sqlx::Decode<Postgres>>::decode(value)?.parse()?)
            }
        }

        impl sqlx::Encode<'_, Postgres> for $ty {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as sqlx::Encode<Postgres>>::encode(self.as_str(), buf)
            }
        }
    };
}

text_enum!(VariantName {
    Thumb = "thumb",
    Small = "small",
    Medium = "medium",
    Large = "large",
});

text_enum!(VariantFormat {
    Webp = "webp",
    Jpeg = "jpeg",
});

impl From<ciel_imaging::VariantName> for VariantName {
    fn from(name: ciel_imaging::VariantName) -> Self {
        match name {
            ciel_imaging::VariantName::Thumb => VariantName::Thumb,
            ciel_imaging::VariantName::Small => VariantName::Small,
            ciel_imaging::VariantName::Medium => VariantName::Medium,
            ciel_imaging::VariantName::Large => VariantName::Large,
        }
    }
}

impl From<ciel_imaging::OutputFormat> for VariantFormat {
    fn from(format: ciel_imaging::OutputFormat) -> Self {
        match format {
            ciel_imaging::OutputFormat::Webp => VariantFormat::Webp,
            ciel_imaging::OutputFormat::Jpeg => VariantFormat::Jpeg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_spelt_as_the_pipeline_spells_it_and_parses_back() {
        for name in ciel_imaging::VariantName::ALL {
            let ours = VariantName::from(name);
            assert_eq!(ours.as_str(), name.as_str());
            assert_eq!(ours.as_str().parse::<VariantName>(), Ok(ours));
            assert_eq!(serde_json::to_value(ours).unwrap(), name.as_str());
        }
        for format in ciel_imaging::OutputFormat::ALL {
            let ours = VariantFormat::from(format);
            assert_eq!(ours.as_str(), format.as_str());
            assert_eq!(ours.as_str().parse::<VariantFormat>(), Ok(ours));
        }
        assert!("huge".parse::<VariantName>().is_err());
    }
}
