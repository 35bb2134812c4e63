use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ciel API",
        description = "The API of the Ciel photo-sharing apps. Errors always have the body \
                       `{\"error\":{\"code\":\"snake_case_code\",\"message\":\"...\",\"details\":{...}}}`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts, sign-in and device sessions"),
        (name = "users", description = "Users"),
        (name = "media", description = "Photo uploads and their processed variants"),
        (name = "posts", description = "Posts, likes, comments and the home feed"),
        (name = "notifications", description = "Follows, likes and comments on your posts"),
        (name = "moderation", description = "Reports, and the moderators' routes"),
        (name = "ops", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("PASETO v4.local")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Admin-Token",
                "Equal to ADMIN_TOKEN; without ADMIN_TOKEN the admin routes do not exist",
            ))),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
