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
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let token = args
            .token
            .clone()
            .context("no token: pass --token or set SHINRAI_TOKEN (create one with `shinrai token create --name NAME --role viewer`)")?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("shinrai-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client {
            http,
            base: args.server.trim_end_matches('/').to_owned(),
            token,
        })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .get(&url)
            .query(query)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| {
                format!(
                    "cannot reach {}; is `shinrai serve` running there?",
                    self.base
                )
            })?;
        let status = resp.status();
        let body = resp.bytes().await.context("cannot read the answer")?;
        if !status.is_success() {
            let msg = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            anyhow::bail!("{status}: {msg}");
        }
        serde_json::from_slice(&body).context("the server's answer is not the expected JSON")
    }
}
