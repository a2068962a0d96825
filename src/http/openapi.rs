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
        // Elections and the committee (issue 8).
        (path = "/api/v1", api = super::elections::ElectionsApi),
        (path = "/api/v1", api = super::committee::CommitteeApi),
        // deliberation
        (path = "/api/v1", api = super::comments::CommentsApi),
        (path = "/api/v1", api = super::revisions::RevisionsApi),
        (path = "/api/v1", api = super::petitions::PetitionsApi),
        (path = "/api/v1", api = super::meetings::MeetingsApi),
        (path = "/api/v1", api = super::outreach::OutreachApi),
        (path = "/api/v1", api = super::notices::NoticesApi),
    )
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
