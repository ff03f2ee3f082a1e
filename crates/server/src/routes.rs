//! The route registry: every route with its access rule and documentation.

use axum::Router;
use axum::routing::{MethodRouter, delete, get, post, put};
use domain::Role;

use crate::AppState;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials (health, metrics, sign-in).
    Public,
    /// A signed-in caller holding at least this role in some scope; the handler then
    /// checks the scope of each object it touches.
    Role(Role),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// True for methods that change state.
    pub fn mutates(self) -> bool {
        !matches!(self, Method::Get)
    }
}

/// What the OpenAPI document says of a route.
#[derive(Clone, Debug)]
pub struct Doc {
    pub summary: String,
    pub tag: &'static str,
    /// Component schema name of the JSON request body, if any.
    pub request: Option<&'static str>,
    /// Component schema name of the success response body, if any, and its status.
    pub response: Option<&'static str>,
    pub status: u16,
    /// Query parameters: (name, description).
    pub query: Vec<(&'static str, &'static str)>,
}

impl Doc {
    pub fn new(tag: &'static str, summary: impl Into<String>) -> Self {
        Doc {
            summary: summary.into(),
            tag,
            request: None,
            response: None,
            status: 200,
            query: Vec::new(),
        }
    }
    pub fn request(mut self, schema: &'static str) -> Self {
        self.request = Some(schema);
        self
    }
    pub fn response(mut self, schema: &'static str) -> Self {
        self.response = Some(schema);
        self
    }
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    pub fn query(mut self, name: &'static str, description: &'static str) -> Self {
        self.query.push((name, description));
        self
    }
}

/// One registered route.
#[derive(Clone, Debug)]
pub struct RouteInfo {
    pub method: Method,
    /// The path in axum's syntax (`/api/v1/teams/{name}`), which is also OpenAPI's.
    pub path: String,
    pub access: Access,
    pub doc: Doc,
}

/// A router that remembers what it holds.
pub struct Routes {
    router: Router<AppState>,
    pub list: Vec<RouteInfo>,
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            list: Vec::new(),
        }
    }

    pub fn add<H, T>(
        mut self,
        method: Method,
        path: &str,
        access: Access,
        doc: Doc,
        handler: H,
    ) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        let route: MethodRouter<AppState> = match method {
            Method::Get => get(handler),
            Method::Post => post(handler),
            Method::Put => put(handler),
            Method::Delete => delete(handler),
        };
        self.router = self.router.route(path, route);
        self.list.push(RouteInfo {
            method,
            path: path.to_owned(),
            access,
            doc,
        });
        self
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

/// Every route shinrai serves (besides `/api/v1/openapi.json`, which describes them).
pub fn all() -> Routes {
    let r = Routes::new();
    let r = crate::observability::routes(r);
    let r = crate::integrations::routes(r);
    let r = crate::links::routes(r);
    let r = crate::slack::routes(r);
    let r = crate::twilio::routes(r);
    crate::api::routes(r)
}

/// Each route's access rule, looked up by method and route template.
pub struct AccessTable(std::collections::HashMap<(String, String), Access>);

impl AccessTable {
    pub fn new(list: &[RouteInfo]) -> Self {
        AccessTable(
            list.iter()
                .map(|r| ((r.method.as_str().to_owned(), r.path.clone()), r.access))
                .collect(),
        )
    }

    pub fn get(&self, method: &str, path: &str) -> Option<Access> {
        self.0.get(&(method.to_owned(), path.to_owned())).copied()
    }
}
