//! The OpenAPI document, built from the route registry and the types' utoipa schemas.

use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    Required, ResponseBuilder,
};

use crate::routes::{Access, Method, Routes};

pub const PATH: &str = "/api/v1/openapi.json";

/// A type's schema with every schema it refers to.
fn schema<T: utoipa::ToSchema>() -> Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)> {
    let mut all = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut all);
    all
}

pub fn document(routes: &Routes) -> OpenApi {
    let mut paths = PathsBuilder::new();
    for r in &routes.list {
        let mut op = OperationBuilder::new()
            .summary(Some(r.doc.summary.clone()))
            .tag(r.doc.tag)
            .operation_id(Some(format!(
                "{}{}",
                r.method.as_str().to_lowercase(),
                r.path.replace(['/', '{', '}'], "_")
            )));
        for segment in r.path.split('/') {
            if let Some(p) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(p)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::String),
                        )),
                );
            }
        }
        for (name, description) in &r.doc.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(*description))
                    .schema(Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::Type::String),
                    )),
            );
        }
        if let Some(req) = r.doc.request {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(req)))
                            .build(),
                    )
                    .build(),
            ));
        }
        let mut ok = ResponseBuilder::new().description("Success");
        if let Some(resp) = r.doc.response {
            ok = ok.content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(resp)))
                    .build(),
            );
        }
        op = op.response(r.doc.status.to_string(), ok.build());
        let err = |d: &str| {
            ResponseBuilder::new()
                .description(d)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        if let Access::Role(role) = r.access {
            op = op
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .description(Some(format!(
                    "Needs the {role} role in the object's scope."
                )))
                .response("401", err("`unauthorized`: no valid token or session"))
                .response("403", err("`forbidden` (or `csrf_failed`): not allowed"));
        }
        // The errors a route can answer follow from its shape; codes are in docs/api.md.
        if r.doc.request.is_some() {
            op = op
                .response(
                    "400",
                    err("`invalid_json`: the body is not the expected JSON"),
                )
                .response("413", err("`payload_too_large`"))
                .response(
                    "415",
                    err("`unsupported_media_type`: send application/json"),
                )
                .response("422", err("`validation_failed`: `errors` names each field"));
        } else if !r.doc.query.is_empty() {
            op = op.response("400", err("`bad_request`: a bad query parameter"));
        }
        if r.path.contains('{') {
            op = op.response(
                "404",
                err("`not_found`: no such object, or none the caller may see"),
            );
        }
        if r.method.mutates() && r.path.starts_with("/api/v1/") && r.access != Access::Public {
            op = op.response(
                "409",
                err("`already_exists`, `version_conflict`, `managed_object` or `still_referenced`"),
            );
        }
        if r.path.starts_with("/api/v1/") {
            op = op.response("503", err("`store_unavailable`: retry later"));
        }
        let method = match r.method {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Put => HttpMethod::Put,
            Method::Delete => HttpMethod::Delete,
        };
        paths = paths.path(r.path.clone(), PathItem::new(method, op.build()));
    }
    use crate::api::{analytics, audit, config, incidents, objects, oncall, session, tokens};
    // Each type brings the schemas it refers to (labels, names, grants …), so that no
    // `$ref` in the document points at nothing.
    let components = [
        schema::<crate::error::ErrorBody>(),
        schema::<crate::error::FieldProblem>(),
        schema::<crate::api::WhoAmI>(),
        schema::<objects::ObjectView>(),
        schema::<objects::MetadataView>(),
        schema::<objects::ObjectInput>(),
        schema::<objects::MetadataInput>(),
        schema::<objects::ObjectList>(),
        schema::<tokens::TokenView>(),
        schema::<tokens::TokenList>(),
        schema::<tokens::TokenInput>(),
        schema::<tokens::CreatedToken>(),
        schema::<audit::AuditRow>(),
        schema::<audit::AuditList>(),
        schema::<session::LoginInput>(),
        schema::<session::SessionView>(),
        schema::<session::PasswordInput>(),
        schema::<incidents::IncidentView>(),
        schema::<incidents::IncidentList>(),
        schema::<incidents::IncidentDetailView>(),
        schema::<incidents::AlertView>(),
        schema::<incidents::AlertList>(),
        schema::<incidents::ChangeView>(),
        schema::<analytics::IncidentAnalytics>(),
        schema::<analytics::AnalyticsRow>(),
        schema::<incidents::TimelineEntry>(),
        schema::<incidents::NoteInput>(),
        schema::<incidents::SnoozeInput>(),
        schema::<incidents::NotificationView>(),
        schema::<incidents::NotificationList>(),
        schema::<oncall::ShiftsView>(),
        schema::<oncall::OnCallView>(),
        schema::<oncall::OverrideInput>(),
        schema::<oncall::OverrideView>(),
        schema::<oncall::OverrideList>(),
        schema::<oncall::TestNotificationView>(),
        schema::<oncall::TestResult>(),
        schema::<oncall::UnreachableList>(),
        schema::<oncall::Unreachable>(),
        schema::<incidents::ReassignInput>(),
        schema::<incidents::NewIncident>(),
        schema::<incidents::MergeInput>(),
        schema::<config::ConfigInput>(),
        schema::<config::FileInput>(),
        schema::<config::ConfigResult>(),
        schema::<domain::TeamSpec>(),
        schema::<domain::UserSpec>(),
        schema::<domain::ServiceSpec>(),
        schema::<::oncall::schedule::ScheduleSpec>(),
        schema::<::oncall::escalation::EscalationPolicySpec>(),
        schema::<domain::RouterSpec>(),
        schema::<domain::MaintenanceWindowSpec>(),
    ]
    .into_iter()
    .fold(ComponentsBuilder::new(), |b, schemas| {
        b.schemas_from_iter(schemas)
    })
    .security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    )
    .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("shinrai API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("The REST API of shinrai. Errors are `{code, message, field}`; see docs/api.md."))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}
