use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
