//! The OpenAPI document at `/api/openapi.json`, assembled from each resource module's paths.

use axum::Json;
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, ResponseBuilder, schema::Schema};
use utoipa::{Modify, OpenApi};

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
        // Reliability (issue 9): backups.
        (path = "/api/v1", api = super::backup::BackupApi),
    ),
    modifiers(&ErrorAnswers)
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

// --- error answers (issue 9: the API fuzz checks every answer against this document) ---------

/// Every error answer has the same body, `{"error": {code, message, request_id}}`
/// (`ApiError`, `json_errors` and `ops::observe`). This gives each operation's 4xx and 5xx
/// answers that schema, and adds a `default` answer for the errors any operation may give
/// besides those it lists: 400 unreadable body or query, 401, 403, 404, 408 timeout, 413 too
/// large, 415 wrong body type, 422, 429 and 503.
struct ErrorAnswers;

const ERROR_SCHEMA: &str = "ErrorBody";

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut Document) {
        let schema: RefOr<Schema> = serde_json::from_value(serde_json::json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable machine-readable code, e.g. `already_voted`"},
                    "message": {"type": "string", "description": "What went wrong, in words"},
                    "request_id": {"type": "string", "description": "The request's id (also in the `x-request-id` header and the server's log)"}
                }
            }}
        }))
        .expect("the error schema is valid");
        openapi
            .components
            .get_or_insert_with(Default::default)
            .schemas
            .insert(ERROR_SCHEMA.into(), schema);
        let content = || Content::new(Some(Ref::from_schema_name(ERROR_SCHEMA)));
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && (status.starts_with('4') || status.starts_with('5'))
                        && response.content.is_empty()
                    {
                        response
                            .content
                            .insert("application/json".into(), content().into());
                    }
                }
                responses.entry("default".into()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description("An error this operation shares with every other: 400, 401, 403, 404, 408, 413, 415, 422, 429 or 503")
                        .content("application/json", content())
                        .build()
                        .into()
                });
            }
        }
    }
}
