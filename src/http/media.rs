//! `/v1/media`: presigned uploads straight to object storage, completion,
//! and the processed variants.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Code, Error, Result};
use crate::http::context::ApiContext;
use crate::http::error::ErrorBody;
use crate::http::extract::{AuthUser, JsonBody, PathParam, integral};
use crate::media::alt_text::{self, AltText};
use crate::media::variants::{VariantFormat, VariantName};
use crate::media::{self, MediaStatus, UPLOAD_URL_LIFETIME, UploadType};

#[derive(Deserialize, ToSchema)]
pub struct CreateUploadRequest {
    /// `image/jpeg`, `image/png`, `image/webp`, `image/heic`, `image/heif`
    /// or `image/avif`.
    #[schema(
        example = "image/jpeg",
        pattern = "^image/(jpeg|png|webp|heic|heif|avif)$"
    )]
    content_type: String,
    /// The exact size of the file, checked when the upload completes; at
    /// most `UPLOAD_MAX_BYTES` (25 MiB unless configured).
    #[schema(example = 2_400_000, minimum = 1, maximum = 26_214_400)]
    #[serde(deserialize_with = "integral")]
    byte_size: i64,
}

#[derive(Serialize, ToSchema)]
pub struct UploadInstructions {
    /// Always `PUT`.
    method: &'static str,
    /// Presigned URL; send the file as the raw body.
    url: String,
    /// Headers to send with the PUT, exactly as given.
    headers: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateUploadResponse {
    media_id: Uuid,
    upload: UploadInstructions,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct VariantResponse {
    name: VariantName,
    width: i32,
    height: i32,
    format: VariantFormat,
    url: String,
    bytes: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MediaError {
    code: String,
    message: String,
}

#[derive(Serialize, ToSchema)]
pub struct MediaResponse {
    id: Uuid,
    status: MediaStatus,
    width: Option<i32>,
    height: Option<i32>,
    blurhash: Option<String>,
    /// What the photo shows, for screen readers; null when none.
    #[schema(max_length = 1500)]
    alt_text: Option<String>,
    variants: Vec<VariantResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<MediaError>,
}

#[derive(Serialize, ToSchema)]
pub struct CompleteResponse {
    id: Uuid,
    status: MediaStatus,
}

/// Start an upload: the answer says where to PUT the file.
#[utoipa::path(post, path = "/v1/media/uploads", tag = "media", security(("bearer" = [])),
    request_body = CreateUploadRequest,
    responses(
        (status = 201, body = CreateUploadResponse),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`unsupported_content_type`, `file_too_large` or `validation_failed`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (also past 50 uploads started and not completed)", body = ErrorBody),
    ))]
pub async fn create_upload(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    JsonBody(body): JsonBody<CreateUploadRequest>,
) -> Result<(StatusCode, Json<CreateUploadResponse>)> {
    let upload_type = UploadType::parse(&body.content_type).ok_or_else(|| {
        Code::UnsupportedContentType.with_message(format!(
            "content_type must be one of {}",
            UploadType::ACCEPTED
        ))
    })?;
    let byte_size = u64::try_from(body.byte_size)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            let mut fields = crate::error::FieldErrors::default();
            fields.add("byte_size", "must be a positive number of bytes");
            Error::Validation(fields)
        })?;
    if byte_size > ctx.upload_max_bytes {
        return Err(Code::FileTooLarge.with_message(format!(
            "files may be at most {} bytes",
            ctx.upload_max_bytes
        )));
    }
    let media = media::create(&ctx.db, user.user_id, upload_type, byte_size).await?;
    let presigned = ctx
        .storage
        .presign_put(
            &media.original_key,
            upload_type.mime(),
            byte_size,
            UPLOAD_URL_LIFETIME,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreateUploadResponse {
            media_id: media.id,
            upload: UploadInstructions {
                method: "PUT",
                url: presigned.url,
                headers: presigned.headers.into_iter().collect(),
            },
            expires_at: OffsetDateTime::now_utc() + UPLOAD_URL_LIFETIME,
        }),
    ))
}

/// Say the PUT is done: the file is checked and queued for processing.
/// Repeating it is harmless.
#[utoipa::path(post, path = "/v1/media/{id}/complete", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Media id")),
    responses(
        (status = 202, body = CompleteResponse),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`media_not_found`", body = ErrorBody),
        (status = 422, description = "`upload_missing` or `upload_size_mismatch`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable` or `queue_unavailable`", body = ErrorBody),
    ))]
pub async fn complete_upload(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<(StatusCode, Json<CompleteResponse>)> {
    let status =
        media::complete_upload(&ctx.db, &ctx.storage, &ctx.queue, user.user_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(CompleteResponse { id, status })))
}

/// A media, its processing state and, once ready, its variants.
#[utoipa::path(get, path = "/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Media id")),
    responses(
        (status = 200, body = MediaResponse),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`media_not_found`", body = ErrorBody),
    ))]
pub async fn get_media(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<MediaResponse>> {
    let media = media::find_owned(&ctx.db, user.user_id, id).await?;
    let stored = if media.status == MediaStatus::Ready {
        media::variants(&ctx.db, media.id).await?
    } else {
        Vec::new()
    };
    let mut variants = Vec::with_capacity(stored.len());
    for v in stored {
        variants.push(VariantResponse {
            // The one URL policy of every photo the API shows.
            url: ctx.urls.url(&v.key).await?,
            name: v.name,
            width: v.width,
            height: v.height,
            format: v.format,
            bytes: v.bytes,
        });
    }
    let error = match (media.error_code, media.error_message) {
        (Some(code), message) => Some(MediaError {
            code,
            message: message.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Json(MediaResponse {
        id: media.id,
        status: media.status,
        width: media.width,
        height: media.height,
        blurhash: media.blurhash,
        alt_text: media.alt_text,
        variants,
        error,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMediaRequest {
    /// What the photo shows, for screen readers: up to 1,500 characters,
    /// no control characters but new lines; stored trimmed. Null or blank
    /// removes it.
    #[schema(
        max_length = 1500,
        example = "A fishing boat at dusk, its lights reflected in the harbour",
        pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    alt_text: Option<String>,
}

/// Set or remove one of your photos' alt text, before or after posting
/// it. Every photo object the API returns carries it.
#[utoipa::path(patch, path = "/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Media id")),
    request_body = UpdateMediaRequest,
    responses(
        (status = 200, body = MediaResponse),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`media_not_found`: not yours, or does not exist", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: JSON bodies are at most 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_failed` (alt_text)", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
pub async fn update_media(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(body): JsonBody<UpdateMediaRequest>,
) -> Result<Json<MediaResponse>> {
    let alt = AltText::parse("alt_text", body.alt_text.as_deref())?;
    alt_text::set(&ctx.db, user.user_id, id, &alt).await?;
    get_media(State(ctx), user, PathParam(id)).await
}

/// Delete a media and every object of it.
#[utoipa::path(delete, path = "/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Media id")),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`media_not_found`", body = ErrorBody),
    ))]
pub async fn delete_media(
    State(ctx): State<Arc<ApiContext>>,
    user: AuthUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode> {
    media::delete_owned(&ctx.db, &ctx.storage, user.user_id, id).await?;
    ctx.purge_cdn_soon();
    Ok(StatusCode::NO_CONTENT)
}
