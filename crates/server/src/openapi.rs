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
        if let Access::Role(role) = r.access {
            op = op
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .description(Some(format!(
                    "Needs the {role} role in the object's scope."
                )));
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
            op = op
                .response("401", err("No valid token or session"))
                .response("403", err("Not allowed"));
        }
        let method = match r.method {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Put => HttpMethod::Put,
            Method::Delete => HttpMethod::Delete,
        };
        paths = paths.path(r.path.clone(), PathItem::new(method, op.build()));
    }
    use crate::api::{audit, config, objects, session, tokens};
    let components = ComponentsBuilder::new()
        .schema_from::<crate::error::ErrorBody>()
        .schema_from::<crate::error::FieldProblem>()
        .schema_from::<crate::api::WhoAmI>()
        .schema_from::<objects::ObjectView>()
        .schema_from::<objects::MetadataView>()
        .schema_from::<objects::ObjectInput>()
        .schema_from::<objects::MetadataInput>()
        .schema_from::<objects::ObjectList>()
        .schema_from::<tokens::TokenView>()
        .schema_from::<tokens::TokenList>()
        .schema_from::<tokens::TokenInput>()
        .schema_from::<tokens::CreatedToken>()
        .schema_from::<audit::AuditRow>()
        .schema_from::<audit::AuditList>()
        .schema_from::<session::LoginInput>()
        .schema_from::<session::SessionView>()
        .schema_from::<session::PasswordInput>()
        .schema_from::<config::ConfigInput>()
        .schema_from::<config::FileInput>()
        .schema_from::<config::ConfigResult>()
        .schema_from::<domain::TeamSpec>()
        .schema_from::<domain::UserSpec>()
        .schema_from::<domain::ServiceSpec>()
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
