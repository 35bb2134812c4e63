//! List requests and answers: `?cursor=&limit=` in, `{items, next_cursor}` out.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use axum::response::IntoResponse as _;

use crate::error::{Code, Result};
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

impl<T> From<Page<T>> for ListResponse<T> {
    fn from(page: Page<T>) -> Self {
        ListResponse {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}
