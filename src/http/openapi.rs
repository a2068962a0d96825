//! The OpenAPI document at `/api/openapi.json`, assembled from each resource module's paths.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Yishi API", description = "Residents' council voting and deliberation."),
    nest(
        (path = "/api/v1", api = super::accounts::AccountsApi),
        (path = "/api/v1", api = super::communities::CommunitiesApi),
        (path = "/api/v1", api = super::proposals::ProposalsApi),
        (path = "/api/v1", api = super::live::LiveApi),
        (path = "/api/v1", api = super::results::ResultsApi),
        // Reliability (issue 9): backups.
        (path = "/api/v1", api = super::backup::BackupApi),
    )
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
