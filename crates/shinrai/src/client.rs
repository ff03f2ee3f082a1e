//! The HTTP client every client subcommand uses.

use anyhow::Context;
use serde::de::DeserializeOwned;

/// Where the server is and how to authenticate.
#[derive(clap::Args, Clone, Debug)]
pub struct ClientArgs {
    /// The shinrai server.
    #[arg(
        long,
        env = "SHINRAI_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub server: String,
    /// An API token (create one with `shinrai token create`).
    #[arg(long, env = "SHINRAI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The data directory `shinrai token create` writes to, named when a token is
    /// missing or refused (the client itself never opens it).
    #[arg(long, env = "SHINRAI_DATA_DIR", value_name = "DIR", hide = true)]
    pub data_dir: Option<std::path::PathBuf>,
}

impl ClientArgs {
    /// Where `shinrai token create` writes a token and how to point either side at the
    /// other: the hint an error about a missing or refused token ends with.
    fn token_hint(&self) -> String {
        let store = crate::settings::StoreArgs {
            data_dir: self.data_dir.clone(),
            database_url: None,
        };
        format!(
            "`shinrai token create` writes to the store in {dir}, and a token works only \
             against the server serving that store: give it that server's data directory \
             (--data-dir DIR; the demo's is ./shinrai-demo), or point the CLI at the server \
             that uses {dir} (--server or SHINRAI_SERVER)",
            dir = store.dir().display(),
        )
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// Where tokens are made, for an error about a refused one.
    hint: String,
}

impl Client {
    pub fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let base = args.server.trim_end_matches('/').to_owned();
        let token = args.token.clone().with_context(|| {
            format!(
                "no token for the server {base}: pass --token or set SHINRAI_TOKEN; {}",
                args.token_hint()
            )
        })?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("shinrai-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client {
            http,
            base,
            token,
            hint: args.token_hint(),
        })
    }

    /// GET a JSON answer; an error answer becomes an error with the server's message.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        let (status, body) = self.send(reqwest::Method::GET, path, query, None).await?;
        let body = success(status, body)?;
        serde_json::from_value(body).context("the server's answer is not the expected JSON")
    }

    /// POST a JSON body; an error answer becomes an error with the server's message.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let (status, answer) = self
            .send(reqwest::Method::POST, path, &[], Some(body))
            .await?;
        success(status, answer)
    }

    /// Sends a request; returns the status and the JSON body, error answers included.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<(reqwest::StatusCode, serde_json::Value)> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .query(query)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.with_context(|| {
            format!(
                "cannot reach {}; is `shinrai serve` running there?",
                self.base
            )
        })?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            let answer: serde_json::Value = resp.json().await.unwrap_or_default();
            let reason = answer["message"]
                .as_str()
                .unwrap_or("the token is not valid");
            anyhow::bail!(
                "the server {} refused the token ({status}: {reason}); {}",
                self.base,
                self.hint
            );
        }
        let bytes = resp.bytes().await.context("cannot read the answer")?;
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        Ok((status, json))
    }
}

/// The answer of a successful request, or an error carrying the server's message.
pub fn success(
    status: reqwest::StatusCode,
    answer: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    if status.is_success() {
        return Ok(answer);
    }
    let msg = answer["message"]
        .as_str()
        .map_or_else(|| answer.to_string(), str::to_owned);
    anyhow::bail!("{status}: {msg}")
}
