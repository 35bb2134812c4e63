//! List requests and answers: `?cursor=&limit=` in, `{items, next_cursor}` out.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{Code, Error, Result};
use crate::social::page::{CursorKey, Page, PageRequest};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `next_cursor` of the previous page; absent for the first page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
    /// Items per page.
    #[param(minimum = 1, maximum = 50, default = 20)]
    pub limit: Option<u32>,
}

impl ListQuery {
    pub fn page<K: CursorKey>(&self) -> Result<PageRequest<K>> {
        PageRequest::parse(self.cursor.as_deref(), self.limit)
    }
}

/// `axum::extract::Query` with rejections in the API's error format.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(Code::ValidationFailed
                .with_message(rejection.body_text())
                .into_response()),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A page of posts as JSON, serialised into a buffer sized for it up front.
/// A feed page is some 30 KB (eight variant URLs a photo), which axum's
/// `Json` reaches from 128 bytes by nine reallocations and copies: with the
/// allocator churn they cause, a tenth of the feed's CPU in a profile.
pub struct PostsJson<T>(pub ListResponse<T>);

/// Room for one post in JSON: its author, caption, counters and up to eight
/// variants (~1.5 KB); the rest of a page is a few hundred bytes.
const POST_JSON_BYTES: usize = 2048;

impl<T: Serialize> IntoResponse for PostsJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(256 + self.0.items.len() * POST_JSON_BYTES);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => Error::Internal(e.into()).into_response(),
        }
    }
}

impl<T> From<Page<T>> for ListResponse<T> {
    fn from(page: Page<T>) -> Self {
        ListResponse {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}
