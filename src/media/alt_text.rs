//! Alt text: what a photo shows, for screen readers, written by its owner
//! when posting or at any time after.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Code, Error, Result};

pub const MAX_CHARS: usize = 1500;

/// Alt text, checked: at most 1,500 characters as sent, no control
/// characters but new lines; stored trimmed. Empty means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AltText(Option<String>);

impl AltText {
    pub fn parse(field: &'static str, raw: Option<&str>) -> Result<Self> {
        let Some(raw) = raw else {
            return Ok(AltText(None));
        };
        if raw.chars().count() > MAX_CHARS {
            return Err(Error::invalid_field(
                field,
                format!("must be at most {MAX_CHARS} characters"),
            ));
        }
        if raw.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid_field(
                field,
                "may not contain control characters other than new lines",
            ));
        }
        let text = raw.trim();
        Ok(AltText((!text.is_empty()).then(|| text.to_string())))
    }

    pub fn none() -> Self {
        AltText(None)
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Sets (or, with none, clears) the alt text of one of `owner`'s photos,
/// whatever its state or use (a post, a story, an avatar).
pub async fn set(db: &PgPool, owner: Uuid, media: Uuid, alt: &AltText) -> Result<()> {
    let updated = sqlx::query("UPDATE media SET alt_text = $3 WHERE id = $1 AND owner_id = $2")
        .bind(media)
        .bind(owner)
        .bind(alt.as_deref())
        .execute(db)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(Error::from(Code::MediaNotFound));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_text_is_trimmed_bounded_and_empty_means_none() {
        assert_eq!(
            AltText::parse("alt_text", Some("  a dog \n")).unwrap(),
            AltText(Some("a dog".into()))
        );
        assert_eq!(
            AltText::parse("alt_text", Some("  ")).unwrap(),
            AltText(None)
        );
        assert_eq!(AltText::parse("alt_text", None).unwrap(), AltText(None));
        let longest = "é".repeat(MAX_CHARS);
        assert!(AltText::parse("alt_text", Some(&longest)).is_ok());
        for bad in ["a\u{0}b", "a\tb", &"x".repeat(MAX_CHARS + 1)] {
            assert!(AltText::parse("alt_text", Some(bad)).is_err(), "{bad:?}");
        }
    }
}
