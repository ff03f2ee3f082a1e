//! shinrai's HTTP surface: the REST API under `/api/v1`, health and metrics endpoints,
//! and the error table ([`error`]).
//!
//! API boundary: handlers speak to the store contract and to the capability crates, never
//! to a backend. Web-framework types stop here.
//!
//! Every route is registered through [`routes::Routes`], which records its method, path,
//! access rule and documentation: the OpenAPI document and the access tests are both
//! built from that one list.

pub mod acting;
pub mod api;
pub mod auth;
pub mod client;
pub mod console;
pub mod error;
pub mod extract;
pub mod integrations;
pub mod links;
pub mod listen;
pub mod observability;
pub mod openapi;
pub mod routes;
pub mod slack;
pub mod twilio;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use runtime::Clock;
use store::Store;
use tokio::net::TcpListener;

/// What the server is told at start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The address people and senders reach shinrai at; used in links shinrai sends out
    /// and in the URLs the console gives for senders.
    pub public_url: String,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a console session lasts.
    pub session_ttl: std::time::Duration,
    /// Events a minute each integration key may send; `None` for no limit (the default).
    pub event_rate_limit: Option<u32>,
    /// Named secrets (a Sentry integration's client secret), from the environment
    /// (`SHINRAI_SECRET_SENTRY_WEB` is `sentry-web`); never from configuration files.
    pub secrets: std::collections::HashMap<String, String>,
    /// Slack's Web API (`https://slack.com/api`); a test or a proxy may stand in.
    pub slack_api_url: String,
    /// Deadlines and the cap on connections.
    pub connections: listen::Limits,
    /// Proxies whose `X-Forwarded-For` names the client (for sign-in throttling); empty:
    /// the connection's peer is the client.
    pub trusted_proxies: Vec<runtime::net::Cidr>,
    /// How long an integration's previous key keeps working after a rotation.
    pub integration_key_overlap: std::time::Duration,
    /// The key that seals the secrets shinrai stores (`runtime::sealed`). The default
    /// is a new random key, for tests; the binary always sets the store's own.
    pub secret_key: runtime::sealed::SecretKey,
    /// The origins (`https://grafana.example`) alerts' images are shown from on the
    /// incident page; the Content Security Policy allows exactly these. An image from
    /// anywhere else is shown as a link. Empty (the default): every image is a link.
    pub console_image_hosts: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: 1024 * 1024,
            session_ttl: std::time::Duration::from_secs(12 * 3600),
            event_rate_limit: None,
            secrets: std::collections::HashMap::new(),
            slack_api_url: "https://slack.com/api".into(),
            connections: listen::Limits::default(),
            trusted_proxies: Vec::new(),
            integration_key_overlap: runtime::integrations::DEFAULT_OVERLAP,
            secret_key: runtime::sealed::SecretKey::generate(),
            console_image_hosts: Vec::new(),
        }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// Where integration endpoints queue events for the group-commit writer.
    pub ingest: runtime::ingest::Ingest,
    /// The per-key event limit, when one is set.
    pub event_limiter: Option<Arc<runtime::ratelimit::KeyedLimiter>>,
    /// Services found by integration key, for a few seconds: every event looks its key
    /// up. Cleared by every configuration write this server makes.
    pub key_cache: Arc<runtime::cache::TtlCache<String, store::ObjectRecord>>,
    /// The maintenance windows, for a few seconds: every alert asks whether one is on.
    pub maintenance: Arc<runtime::cache::TtlCache<(), Arc<Vec<runtime::events::Maintenance>>>>,
    /// Team routers compiled (their matchers' regexes), by router version and integration.
    #[allow(clippy::type_complexity)]
    pub routers: Arc<
        runtime::cache::TtlCache<
            String,
            Arc<(
                Arc<domain::routing::CompiledRouter>,
                Vec<domain::Name>,
                Option<String>,
            )>,
        >,
    >,
    /// The key that signs acknowledge and resolve links, read from the store once.
    link_secret: Arc<tokio::sync::OnceCell<Arc<Vec<u8>>>>,
    /// Slack's Web API, when a bot token is set (`SHINRAI_SECRET_SLACK_BOT_TOKEN`).
    slack: Option<Arc<runtime::notify::Slack>>,
    /// The notification channels, for test notifications and reachability reports (the
    /// outbox workers send through the same ones). Empty until the binary sets them.
    pub channels: Vec<Arc<dyn runtime::notify::Channel>>,
    /// Wakes this node's timer and outbox workers when a commit here made work due.
    pub wake: runtime::wake::Wake,
}

/// How long a key lookup is trusted: changes made by another node, or by a command on the
/// store, reach this server's integration endpoints within it.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl AppState {
    /// The state, and the event writer started beside it (it ends once the last clone of
    /// the state is gone and every queued event is answered). Call within a tokio runtime.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        let (state, writer) = Self::unstarted(store, clock, settings);
        tokio::spawn(writer.run());
        state
    }

    /// The state, with its event writer registered with `supervisor` (restarted if it
    /// panics, drained on shutdown).
    pub fn supervised(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        supervisor: &mut runtime::supervisor::Supervisor,
    ) -> Self {
        let (state, writer) = Self::unstarted(store, clock, settings);
        writer.supervise(supervisor);
        state
    }

    fn unstarted(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> (Self, runtime::ingest::IngestWriter) {
        let wake = runtime::wake::Wake::default();
        let (ingest, writer) = runtime::ingest::channel(store.clone(), 4096);
        let writer = writer.waking(wake.clone());
        let event_limiter = settings
            .event_rate_limit
            .map(|n| Arc::new(runtime::ratelimit::KeyedLimiter::new(n)));
        let state = AppState {
            store,
            clock,
            slack: slack_client(&settings),
            settings: Arc::new(settings),
            ingest,
            event_limiter,
            key_cache: Arc::new(runtime::cache::TtlCache::new(KEY_CACHE_TTL)),
            maintenance: Arc::new(runtime::cache::TtlCache::new(KEY_CACHE_TTL)),
            link_secret: Arc::new(tokio::sync::OnceCell::new()),
            routers: Arc::new(runtime::cache::TtlCache::new(KEY_CACHE_TTL)),
            channels: Vec::new(),
            wake,
        };
        (state, writer)
    }
}

impl AppState {
    /// Commits configuration changes, and forgets cached key lookups that they may have
    /// changed.
    pub async fn commit_objects(
        &self,
        changes: Vec<store::Change>,
        ctx: &store::WriteContext,
    ) -> store::Result<Vec<store::ObjectRecord>> {
        let out = self.store.commit(changes, ctx).await;
        self.forget_cached();
        out
    }

    /// Forgets cached lookups (keys, routers, maintenance windows) after this server
    /// changed configuration.
    pub fn forget_cached(&self) {
        self.key_cache.clear();
        self.maintenance.clear();
        self.routers.clear();
    }

    /// The channel of a contact type, if it can send.
    pub fn channel(&self, name: &str) -> Option<&Arc<dyn runtime::notify::Channel>> {
        self.channels
            .iter()
            .find(|c| c.name() == name && c.configured())
    }

    /// Slack's Web API, when configured.
    pub fn slack(&self) -> Option<&runtime::notify::Slack> {
        self.slack.as_deref()
    }

    /// The key that signs links, shared by every node through the store (sealed there
    /// with the settings' secret key).
    pub async fn link_secret(&self) -> store::Result<Arc<Vec<u8>>> {
        self.link_secret
            .get_or_try_init(|| async {
                let s = runtime::sealed::server_secret(
                    self.store.as_ref(),
                    &self.settings.secret_key,
                    runtime::links::SECRET_NAME,
                    self.clock.now(),
                )
                .await
                .map_err(|e| match e {
                    runtime::sealed::SealError::Store(e) => e,
                    other => store::StoreError::Corrupt(other.to_string()),
                })?;
                Ok(Arc::new(s.into_bytes()))
            })
            .await
            .cloned()
    }

    /// The maintenance windows, cached for a few seconds.
    pub async fn maintenance_windows(
        &self,
    ) -> store::Result<Arc<Vec<runtime::events::Maintenance>>> {
        let now = self.clock.monotonic();
        if let Some(w) = self.maintenance.get(&(), now) {
            return Ok(w);
        }
        let records = self
            .store
            .snapshot(&[domain::Kind::MaintenanceWindow])
            .await?;
        let windows = Arc::new(runtime::events::Maintenance::all(&records));
        self.maintenance.insert((), windows.clone(), now);
        Ok(windows)
    }
}

/// The whole application: every route, with its middleware.
pub fn app(state: AppState) -> Router {
    let routes = routes::all();
    let max_body = state.settings.max_body_bytes;
    let csp = console::content_security_policy(&state.settings.console_image_hosts);
    // Only hosts `image_host` accepts reach the policy, so it is always a valid header.
    let csp = axum::http::HeaderValue::from_str(&csp).unwrap_or(
        axum::http::HeaderValue::from_static(console::CONTENT_SECURITY_POLICY),
    );
    let spec = Arc::new(openapi::document(&routes));
    let access = Arc::new(routes::AccessTable::new(&routes.list));
    routes
        .into_router()
        .merge(console::router(state.clone()))
        .route(
            openapi::PATH,
            axum::routing::get(move || {
                let spec = spec.clone();
                async move { axum::Json((*spec).clone()) }
            }),
        )
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), access),
            auth::enforce_access,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observability::track_requests,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            csp,
            console::security_headers,
        ))
        .with_state(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests finish, within the
/// connection limits of the settings ([`listen`]).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    observability::install_recorder();
    let limits = state.settings.connections;
    listen::serve(listener, app(state), limits, shutdown).await
}

/// Slack's Web API client, when a bot token is set.
pub fn slack_client(settings: &Settings) -> Option<Arc<runtime::notify::Slack>> {
    let token = settings.secrets.get("slack-bot-token")?;
    runtime::notify::Slack::new(&settings.slack_api_url, token).map(Arc::new)
}
