//! A shinrai server on `127.0.0.1:0` for tests, with helpers to seed it and call it.

use std::sync::Arc;

use domain::{Grant, Name};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use store::{NewToken, Store, WriteContext};
use tokio::sync::oneshot;

use crate::TestStore;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clock: runtime::ManualClock,
    /// The server's timers, stepped by the test (`app.timers.tick()`), never in the
    /// background.
    pub timers: runtime::timers::TimerWorker,
    /// The key the server seals stored secrets with.
    pub secret_key: runtime::sealed::SecretKey,
    stop: Option<oneshot::Sender<()>>,
    _store: TestStore,
}

impl TestApp {
    /// Starts a server over `store` with a manual clock at [`crate::t0`].
    pub async fn start(store: TestStore) -> TestApp {
        Self::start_with(store, server::Settings::default()).await
    }

    pub async fn start_with(store: TestStore, settings: server::Settings) -> TestApp {
        Self::start_with_channels(store, settings, Vec::new()).await
    }

    /// A server whose API can send through these notification channels (test
    /// notifications, reachability).
    pub async fn start_with_channels(
        store: TestStore,
        settings: server::Settings,
        channels: Vec<Arc<dyn runtime::notify::Channel>>,
    ) -> TestApp {
        let clock = runtime::ManualClock::new(crate::t0());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let secret_key = settings.secret_key.clone();
        let mut state =
            server::AppState::new(store.store.clone(), Arc::new(clock.clone()), settings);
        state.channels = channels;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(server::run(listener, state, async move {
            let _ = rx.await;
        }));
        TestApp {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            store: store.store.clone(),
            timers: runtime::timers::TimerWorker {
                store: store.store.clone(),
                clock: Arc::new(clock.clone()),
                owner: "test".into(),
                lease: std::time::Duration::from_secs(60),
            },
            clock,
            secret_key,
            stop: Some(tx),
            _store: store,
        }
    }

    /// Creates a token directly in the store and returns its secret.
    pub async fn token(&self, name: &str, grants: Vec<Grant>, user: Option<&str>) -> String {
        let secret = runtime::entropy::secret("shr_");
        self.store
            .create_token(
                NewToken {
                    name: name.into(),
                    hash: server::auth::hash_secret(&secret),
                    grants,
                    user: user.map(|u| Name::new(u).expect("valid user name")),
                    expires_at: None,
                },
                &WriteContext {
                    actor: "system".into(),
                    at: crate::t0(),
                },
            )
            .await
            .expect("create token");
        secret
    }

    /// The key that signs links, as the server has it (sealed in the store).
    pub async fn link_secret(&self) -> String {
        runtime::sealed::server_secret(
            self.store.as_ref(),
            &self.secret_key,
            runtime::links::SECRET_NAME,
            crate::t0(),
        )
        .await
        .expect("the link-signing secret")
    }

    /// Applies configuration documents (as if from `file`) through the normal apply path.
    pub async fn apply(&self, file: &str, yaml: &str) {
        let files = [config::SourceFile {
            path: file.into(),
            content: yaml.into(),
        }];
        let prepared = runtime::apply::prepare(&self.store, &files, false)
            .await
            .expect("plan fixture");
        runtime::apply::commit(
            &self.store,
            prepared,
            &WriteContext {
                actor: "system".into(),
                at: crate::t0(),
            },
        )
        .await
        .expect("apply fixture");
    }

    /// Sends a request with an optional bearer token and JSON body; returns status and JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
