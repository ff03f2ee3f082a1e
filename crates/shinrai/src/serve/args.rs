//! The settings of `shinrai serve`: its flags and their environment variables, and how
//! their values are read.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::LogFormat;
use crate::settings::StoreArgs;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the address is printed at start).
    #[arg(
        long,
        env = "SHINRAI_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Configuration to apply at start: a YAML file or a folder of them.
    #[arg(long, env = "SHINRAI_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The address people and senders reach shinrai at, used in links it sends out and in
    /// the URLs the console gives for senders (a service's "Send to"). Defaults to
    /// http://LISTEN.
    #[arg(long, env = "SHINRAI_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Log format.
    #[arg(long, env = "SHINRAI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, in tracing's syntax (`info`, `shinrai=debug,sqlx=warn`).
    #[arg(long, env = "SHINRAI_LOG", default_value = "info")]
    pub log: String,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SHINRAI_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds a client has to send a request's headers, from the moment it connects or
    /// finishes the previous request: connections that send nothing, half a header, or
    /// sit idle between requests this long are closed.
    #[arg(
        long,
        env = "SHINRAI_HTTP_HEADER_TIMEOUT",
        default_value_t = 30,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub http_header_timeout: u64,
    /// Connections served at once; one more is answered 503 with Retry-After and closed.
    /// Keep it below the open-file limit (`ulimit -n`), which the store's own files and
    /// connections share.
    #[arg(
        long,
        env = "SHINRAI_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_connections: u64,
    /// Events a minute each integration key may send before it gets 429 (PagerDuty's
    /// answer; senders retry). No limit unless set.
    #[arg(long, env = "SHINRAI_EVENT_RATE_LIMIT", value_name = "PER_MINUTE")]
    pub event_rate_limit: Option<u32>,
    /// Reverse proxies (addresses or CIDR networks, comma-separated: `10.0.0.0/8,::1`)
    /// whose `X-Forwarded-For` header names the client. Sign-in is throttled per client
    /// address; a request that reaches shinrai through one of these is counted under the
    /// address the proxy saw, any other request under its own peer address (its
    /// `X-Forwarded-For` is the client's own word and ignored). Empty (the default): no
    /// proxy is trusted.
    #[arg(
        long,
        env = "SHINRAI_TRUSTED_PROXIES",
        value_name = "CIDRS",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<runtime::net::Cidr>,
    /// Origins (comma-separated: `https://grafana.example,https://grafana.example:3000`)
    /// that alerts' images are shown from on the incident page; the console's Content
    /// Security Policy then allows images from exactly these. An image from anywhere else
    /// is shown as a link to it, so a sender cannot make browsers load what it likes. Only
    /// `https://` and a host with an optional port. Empty (the default): every image is a
    /// link.
    #[arg(
        long,
        env = "SHINRAI_CONSOLE_IMAGE_HOSTS",
        value_name = "ORIGINS",
        value_delimiter = ',',
        value_parser = server::console::alerts::image_host
    )]
    pub console_image_hosts: Vec<String>,
    /// Where email notifications go out: `smtp://host:25` (a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://host:465`.
    /// Without it, email notifications are dead letters that say so.
    #[arg(
        long,
        env = "SHINRAI_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// Slack's Web API. The bot token is `SHINRAI_SECRET_SLACK_BOT_TOKEN`, the signing
    /// secret for its buttons `SHINRAI_SECRET_SLACK_SIGNING_SECRET`.
    #[arg(
        long,
        env = "SHINRAI_SLACK_API_URL",
        default_value = "https://slack.com/api"
    )]
    pub slack_api_url: String,
    /// A Twilio-compatible API for SMS and voice pages. The account is
    /// `SHINRAI_SECRET_TWILIO_ACCOUNT_SID` and `SHINRAI_SECRET_TWILIO_AUTH_TOKEN`.
    #[arg(
        long,
        env = "SHINRAI_TWILIO_URL",
        default_value = "https://api.twilio.com"
    )]
    pub twilio_url: String,
    /// The number SMS and calls come from (E.164). SMS and voice are off without it.
    #[arg(long, env = "SHINRAI_TWILIO_FROM", value_name = "NUMBER")]
    pub twilio_from: Option<String>,
    /// The ntfy server push notifications go through (self-hosted, or ntfy.sh). A token
    /// for protected topics is `SHINRAI_SECRET_NTFY_TOKEN`.
    #[arg(long, env = "SHINRAI_NTFY_URL", default_value = "https://ntfy.sh")]
    pub ntfy_url: String,
    /// Pinged (GET) every minute: point it at a dead-man's switch elsewhere
    /// (healthchecks.io, another shinrai's heartbeat integration) so that this pager's own
    /// death pages someone.
    #[arg(long, env = "SHINRAI_HEARTBEAT_URL", value_name = "URL")]
    pub heartbeat_url: Option<String>,
    /// Internal addresses that webhook notifications (people's webhook contact methods,
    /// services' announcement webhooks) may reach: a comma-separated list of addresses
    /// and CIDR ranges, like `10.20.0.0/16,fd12:3456::/48`. Public addresses are always
    /// allowed. Without this, loopback, private, link-local and other internal addresses
    /// are refused, so that nobody who may edit a contact method can make shinrai call
    /// into its own network; cloud metadata addresses (169.254.169.254, fd00:ec2::254, …)
    /// are refused even when listed. `--demo` allows loopback.
    #[arg(
        long,
        env = "SHINRAI_EGRESS_ALLOW_NOTIFICATIONS",
        value_name = "CIDR,...",
        value_delimiter = ','
    )]
    pub egress_allow_notifications: Vec<runtime::net::Cidr>,
    /// How long this node's claim on a due timer or notification holds: if it dies
    /// mid-way, another node (or this one, restarted) takes the work over after this.
    #[arg(
        long,
        env = "SHINRAI_LEASE_SECONDS",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub lease_seconds: u64,
    /// Sends each notification channel has in flight at once, as `CHANNEL=N` pairs
    /// (`email=32,slack=1`); channels not named keep their defaults: email=16, webhook=16,
    /// push=8, sms=4, voice=4, slack=2. A channel sends as fast as its provider answers,
    /// up to this many at a time; a provider's 429 with `Retry-After` holds the page back
    /// until then. Lower it for a relay or provider that limits connections.
    #[arg(
        long,
        env = "SHINRAI_CHANNEL_CONCURRENCY",
        value_name = "CHANNEL=N,...",
        value_delimiter = ',',
        value_parser = parse_concurrency
    )]
    pub channel_concurrency: Vec<(String, usize)>,
    /// Start the demo: its own data directory (`./shinrai-demo` unless --data-dir is
    /// given), an example organisation, a sender that posts events now and then, and
    /// emails shown in the console's inbox. `shinrai demo remove` deletes it.
    #[arg(long)]
    pub demo: bool,
    /// The sender of email notifications.
    #[arg(
        long,
        env = "SHINRAI_MAIL_FROM",
        default_value = "shinrai <shinrai@localhost>"
    )]
    pub mail_from: String,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// Keys and secrets: the key that seals stored secrets, and how long a rotated
/// integration key keeps working.
#[derive(clap::Args, Debug)]
pub struct SecretArgs {
    #[command(flatten)]
    pub key: crate::secrets::SecretKeyArgs,
    /// How long an integration's previous key keeps working after `shinrai service
    /// rotate-key` (or the console's Rotate button) gives it a new one, so senders can move
    /// over without losing events: `24h`, `90m`, `7d`. After it, events with the old
    /// key are refused as from an unknown key.
    #[arg(
        long,
        env = "SHINRAI_INTEGRATION_KEY_OVERLAP",
        default_value = "24h",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub integration_key_overlap: Duration,
}

/// A duration such as `24h`, `90m`, `1d 12h` or `PT24H`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = match s.parse::<jiff::SignedDuration>() {
        Ok(d) => d,
        Err(_) => s
            .parse::<jiff::Span>()
            .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()))
            .map_err(|e| format!("{s:?} is not a duration such as 24h, 90m or 7d: {e}"))?,
    };
    Duration::try_from(d).map_err(|_| format!("{s:?} must not be negative"))
}

/// One `CHANNEL=N` pair of `--channel-concurrency`.
fn parse_concurrency(s: &str) -> Result<(String, usize), String> {
    let (channel, n) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not CHANNEL=N, like email=16"))?;
    let channel = channel.trim();
    if !runtime::workers::CHANNELS.contains(&channel) {
        return Err(format!(
            "{channel:?} is not a channel; the channels are {}",
            runtime::workers::CHANNELS.join(", ")
        ));
    }
    match n.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok((channel.to_owned(), n)),
        _ => Err(format!(
            "{channel}={n}: the number of sends at once is a whole number from 1 to 1024"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_concurrency_is_read_as_channel_and_number() {
        assert_eq!(parse_concurrency("email=32"), Ok(("email".into(), 32)));
        assert!(
            parse_concurrency("email")
                .unwrap_err()
                .contains("CHANNEL=N")
        );
        assert!(
            parse_concurrency("fax=2")
                .unwrap_err()
                .contains("not a channel")
        );
        assert!(
            parse_concurrency("slack=0")
                .unwrap_err()
                .contains("from 1 to 1024")
        );
    }

    #[test]
    fn overlaps_are_read_as_durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(24 * 3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 24 * 3600)));
        assert_eq!(parse_duration("PT1H"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("-1h").unwrap_err().contains("negative"));
        assert!(parse_duration("soon").unwrap_err().contains("24h"));
    }
}
