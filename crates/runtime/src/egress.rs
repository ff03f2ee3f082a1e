//! Egress: the one way shinrai connects to an address a user chose (webhook contact
//! methods and services' announcement webhooks today; monitor targets, SLO sources and
//! deploy hooks add their own [`Purpose`] here).
//!
//! Architecture invariant: a request made on a user's behalf goes through a [`Client`].
//! Its DNS resolver resolves the name, checks every address against the purpose's
//! [`Policy`] and hands the HTTP client only the addresses that passed, so the connection
//! goes to a checked address and nothing resolves the name a second time (a name that
//! answers with a public address to the check and an internal one to the connection
//! gains nothing). Addresses written in the URL skip the resolver, so they are checked
//! before the request is sent, in the form the URL parser gives them (`2130706433`,
//! `0177.0.0.1` and `127.1` are all `127.0.0.1`), and again on every redirect hop.
//! Replies are read up to [`REPLY_LIMIT`] bytes; what users see of an answer is its status
//! and a classified reason, never its body.
//!
//! The policy: public unicast addresses are allowed; cloud metadata addresses are never
//! allowed, whatever the allow-list says; everything else (loopback, private, link-local,
//! `0.0.0.0`, multicast, reserved ranges) only when the purpose's allow-list holds it.
//! IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) and NAT64 and 6to4 addresses are judged
//! by the IPv4 address inside them.
//!
//! Longer than 600 lines because the policy, its DNS resolver and redirect checks are one
//! guard, and a third of the file is their tests.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::net::{Cidr, canonical};

/// What a connection is for: each purpose has its own allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Webhook contact methods and services' announcement webhooks.
    Notifications,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Notifications => "notifications",
        }
    }

    /// The setting that widens this purpose's allow-list: the flag and its environment
    /// variable.
    pub fn setting(self) -> &'static str {
        match self {
            Purpose::Notifications => {
                "--egress-allow-notifications (SHINRAI_EGRESS_ALLOW_NOTIFICATIONS)"
            }
        }
    }
}

/// What kind of address an address is, as far as the policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A public unicast address: always allowed.
    Public,
    /// `0.0.0.0/8` or `::`: connecting to it reaches this machine.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`, `100.64/10` (shared address space), `fc00::/7`,
    /// `fec0::/10`.
    Private,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// A cloud provider's metadata or platform service: never allowed.
    Metadata,
    /// Multicast and broadcast.
    Multicast,
    /// Documentation, benchmarking, future use and other special-purpose ranges.
    Reserved,
}

impl Class {
    /// The class in words, for a refusal.
    pub fn describe(self) -> &'static str {
        match self {
            Class::Public => "a public address",
            Class::Unspecified => "an unspecified address (it reaches this machine)",
            Class::Loopback => "a loopback address",
            Class::Private => "a private address",
            Class::LinkLocal => "a link-local address",
            Class::Metadata => "a cloud metadata address",
            Class::Multicast => "a multicast or broadcast address",
            Class::Reserved => "a reserved special-purpose address",
        }
    }
}

/// Cloud metadata and platform endpoints: AWS (IMDS, ECS task credentials, EKS Pod
/// Identity), GCP, Azure and Oracle (169.254.169.254), Azure's WireServer (a public
/// address), Alibaba Cloud.
const METADATA_V4: [Ipv4Addr; 5] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(100, 100, 100, 200),
];

/// AWS's IMDS and EKS Pod Identity over IPv6.
const METADATA_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
];

/// Classifies an address.
pub fn classify(ip: IpAddr) -> Class {
    match canonical(ip) {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => classify_v6(a),
    }
}

fn classify_v4(a: Ipv4Addr) -> Class {
    let [o0, o1, o2, _] = a.octets();
    if METADATA_V4.contains(&a) {
        Class::Metadata
    } else if o0 == 0 {
        Class::Unspecified
    } else if o0 == 127 {
        Class::Loopback
    } else if o0 == 10
        || (o0 == 172 && (16..=31).contains(&o1))
        || (o0 == 192 && o1 == 168)
        || (o0 == 100 && (64..=127).contains(&o1))
    {
        Class::Private
    } else if o0 == 169 && o1 == 254 {
        Class::LinkLocal
    } else if (224..240).contains(&o0) || a == Ipv4Addr::BROADCAST {
        Class::Multicast
    } else if o0 >= 240
        || (o0 == 192 && o1 == 0 && (o2 == 0 || o2 == 2))
        || (o0 == 192 && o1 == 88 && o2 == 99)
        || (o0 == 198 && (o1 == 18 || o1 == 19))
        || (o0 == 198 && o1 == 51 && o2 == 100)
        || (o0 == 203 && o1 == 0 && o2 == 113)
    {
        Class::Reserved
    } else {
        Class::Public
    }
}

fn classify_v6(a: Ipv6Addr) -> Class {
    let s = a.segments();
    let embedded = |hi: u16, lo: u16| {
        Ipv4Addr::new(
            (hi >> 8) as u8,
            (hi & 0xff) as u8,
            (lo >> 8) as u8,
            (lo & 0xff) as u8,
        )
    };
    if METADATA_V6.contains(&a) {
        Class::Metadata
    } else if a.is_unspecified() {
        Class::Unspecified
    } else if a.is_loopback() {
        Class::Loopback
    } else if s[..6] == [0; 6] {
        // `::a.b.c.d`, the deprecated IPv4-compatible form.
        Class::Reserved
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (RFC 6052) reaches the IPv4 address inside.
        classify_v4(embedded(s[6], s[7]))
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // Local-use NAT64 (RFC 8215).
        Class::Private
    } else if s[0] == 0x2002 {
        // 6to4 reaches the IPv4 address inside.
        classify_v4(embedded(s[1], s[2]))
    } else if s[0] & 0xfe00 == 0xfc00 {
        Class::Private
    } else if s[0] & 0xffc0 == 0xfe80 {
        Class::LinkLocal
    } else if s[0] & 0xffc0 == 0xfec0 {
        // Site-local, deprecated, still private where used.
        Class::Private
    } else if s[0] & 0xff00 == 0xff00 {
        Class::Multicast
    } else if s[0] == 0x2001 && (s[1] == 0x0db8 || s[1] < 0x0200) {
        // Documentation, and the IETF protocol assignments (Teredo among them).
        Class::Reserved
    } else if s[0] & 0xe000 == 0x2000 {
        Class::Public
    } else {
        Class::Reserved
    }
}

/// Where connections for one purpose may go.
#[derive(Clone, Debug)]
pub struct Policy {
    purpose: Purpose,
    allow: Vec<Cidr>,
}

impl Policy {
    /// Public addresses, and the internal ones in `allow` (cloud metadata never).
    pub fn new(purpose: Purpose, allow: Vec<Cidr>) -> Policy {
        Policy { purpose, allow }
    }

    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Whether shinrai may connect to `ip`, which `host` named, for this purpose.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        let class = classify(ip);
        let allowed = match class {
            Class::Public => true,
            Class::Metadata => false,
            _ => self.allow.iter().any(|c| c.contains(ip)),
        };
        if allowed {
            return Ok(());
        }
        tracing::warn!(purpose = self.purpose.as_str(), host, address = %ip, class = class.describe(), "egress refused");
        metrics::counter!("shinrai_egress_refused_total", "purpose" => self.purpose.as_str())
            .increment(1);
        Err(Refused {
            host: host.to_owned(),
            address: ip,
            class,
            purpose: self.purpose,
        })
    }

    /// Checks a URL before it is requested: http or https, and an address written in it
    /// (names are checked when they resolve).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Failure> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Failure::BadUrl(url.to_string()));
        }
        match literal(url) {
            Ok(Some(ip)) => self.check(&ip.to_string(), ip).map_err(Failure::Refused),
            Ok(None) => Ok(()),
            Err(()) => Err(Failure::BadUrl(url.to_string())),
        }
    }
}

/// The address a URL's host is written as, if it is one: the URL parser has already
/// turned every form a browser accepts (`2130706433`, `0177.0.0.1`, `0x7f.1`) into the
/// dotted or bracketed form, which is also what the connector recognises as an address
/// and connects to without resolving. `Err` when the URL has no host.
fn literal(url: &reqwest::Url) -> Result<Option<IpAddr>, ()> {
    let host = url.host_str().ok_or(())?;
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok(bare.parse::<IpAddr>().ok())
}

/// A connection the policy does not allow; says which address and what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The name or address in the URL.
    pub host: String,
    /// The address it resolved to.
    pub address: IpAddr,
    pub class: Class,
    pub purpose: Purpose,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.host == self.address.to_string() {
            self.address.to_string()
        } else {
            format!("{} ({})", self.host, self.address)
        };
        if self.class == Class::Metadata {
            write!(
                f,
                "refused by the egress policy: {what} is a cloud metadata address, which shinrai never connects to on a user's behalf"
            )
        } else {
            write!(
                f,
                "refused by the egress policy: {what} is {}; to allow it for {}, add it (or a range holding it) to {}",
                self.class.describe(),
                self.purpose.as_str(),
                self.purpose.setting()
            )
        }
    }
}

/// Why a request got no answer, classified: what users see instead of the transport's
/// own error text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Refused(Refused),
    #[error("{0:?} is not an http or https URL")]
    BadUrl(String),
    #[error("{0} does not resolve")]
    NoSuchHost(String),
    #[error("timeout")]
    Timeout,
    #[error("connection refused")]
    ConnectionRefused,
    #[error("TLS error")]
    Tls,
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("cannot connect")]
    Connect,
    #[error("the connection failed")]
    Other,
}

impl Failure {
    /// Whether trying again cannot help (the address or the policy must change first).
    pub fn permanent(&self) -> bool {
        matches!(
            self,
            Failure::Refused(_) | Failure::BadUrl(_) | Failure::TooManyRedirects
        )
    }

    /// Classifies a transport error (of this module's client or any other).
    pub fn of(e: &reqwest::Error) -> Failure {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if let Some(f) = s.downcast_ref::<Failure>() {
                return f.clone();
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Failure::ConnectionRefused,
                    std::io::ErrorKind::TimedOut => return Failure::Timeout,
                    // rustls reports a failed handshake as invalid data.
                    std::io::ErrorKind::InvalidData if e.is_connect() => return Failure::Tls,
                    _ => {}
                }
            }
            source = s.source();
        }
        if e.is_timeout() {
            Failure::Timeout
        } else if e.is_redirect() {
            Failure::TooManyRedirects
        } else if e.is_connect() {
            Failure::Connect
        } else {
            Failure::Other
        }
    }
}

/// Redirects followed before giving up, each hop checked.
pub const MAX_REDIRECTS: usize = 5;

/// The most of a reply that is read: enough for any provider's JSON answer, small enough
/// that a receiver answering gigabytes costs nothing.
pub const REPLY_LIMIT: usize = 64 * 1024;

/// An answer, its body read up to [`REPLY_LIMIT`].
#[derive(Debug)]
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// An HTTP client bound to one policy.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    policy: Arc<Policy>,
}

impl Client {
    /// A client whose requests take at most `timeout` each.
    pub fn new(policy: Policy, timeout: Duration) -> Result<Client, String> {
        let policy = Arc::new(policy);
        let hops = policy.clone();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A proxy would resolve and connect on its own, past the check.
            .no_proxy()
            // The previous URL (which may hold a token) is nobody else's business.
            .referer(false)
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > MAX_REDIRECTS {
                    return attempt.error(Failure::TooManyRedirects);
                }
                match hops.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(f) => attempt.error(f),
                }
            }))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Client { http, policy })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A request to `url`, once the URL is http or https and an address written in it
    /// passes the policy.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let url = reqwest::Url::parse(url).map_err(|_| Failure::BadUrl(url.to_owned()))?;
        self.policy.check_url(&url)?;
        Ok(self.http.request(method, url))
    }

    /// Sends a request made by [`Client::request`] and reads the reply up to the limit.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply, Failure> {
        let resp = request.send().await.map_err(|e| {
            tracing::debug!(error = %e, "an outgoing request failed");
            Failure::of(&e)
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = read_limited(resp, REPLY_LIMIT).await;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// Reads a reply's body up to `limit` bytes and drops the rest unread (the connection
/// closes). A body cut short by an error is what arrived before it.
pub async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(limit - body.len());
                body.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

/// Resolves names, and returns only the addresses the policy allows.
struct CheckedResolver {
    policy: Arc<Policy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Box::new(Failure::NoSuchHost(host.clone())))?
                .collect();
            let mut refused = None;
            let checked: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.check(&host, a.ip()) {
                    Ok(()) => true,
                    Err(r) => {
                        refused.get_or_insert(r);
                        false
                    }
                })
                .collect();
            if checked.is_empty() {
                return Err(Box::new(match refused {
                    Some(r) => Failure::Refused(r),
                    None => Failure::NoSuchHost(host),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(checked.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The address a URL's host is, parsed the way a browser parses it.
    fn url_ip(url: &str) -> IpAddr {
        literal(&reqwest::Url::parse(url).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{url} names no address"))
    }

    #[test]
    fn addresses_are_classified_in_every_form() {
        for (address, class) in [
            ("8.8.8.8", Class::Public),
            ("2606:4700:4700::1111", Class::Public),
            ("0.0.0.0", Class::Unspecified),
            ("0.1.2.3", Class::Unspecified),
            ("::", Class::Unspecified),
            ("127.0.0.1", Class::Loopback),
            ("127.255.255.254", Class::Loopback),
            ("::1", Class::Loopback),
            ("::ffff:127.0.0.1", Class::Loopback),
            ("::ffff:7f00:1", Class::Loopback),
            ("10.1.2.3", Class::Private),
            ("172.16.0.1", Class::Private),
            ("172.31.255.255", Class::Private),
            ("172.32.0.1", Class::Public),
            ("192.168.1.1", Class::Private),
            ("100.64.0.1", Class::Private),
            ("::ffff:10.0.0.1", Class::Private),
            ("fc00::1", Class::Private),
            ("fd12:3456::1", Class::Private),
            ("fec0::1", Class::Private),
            ("169.254.1.1", Class::LinkLocal),
            ("fe80::1", Class::LinkLocal),
            ("169.254.169.254", Class::Metadata),
            ("::ffff:169.254.169.254", Class::Metadata),
            ("169.254.170.2", Class::Metadata),
            ("168.63.129.16", Class::Metadata),
            ("100.100.100.200", Class::Metadata),
            ("fd00:ec2::254", Class::Metadata),
            ("224.0.0.1", Class::Multicast),
            ("255.255.255.255", Class::Multicast),
            ("ff02::1", Class::Multicast),
            ("240.0.0.1", Class::Reserved),
            ("192.0.2.1", Class::Reserved),
            ("2001:db8::1", Class::Reserved),
            ("::127.0.0.1", Class::Reserved),
            ("64:ff9b::7f00:1", Class::Loopback),
            ("64:ff9b::808:808", Class::Public),
            ("2002:a00:1::1", Class::Private),
            ("2002:808:808::1", Class::Public),
        ] {
            assert_eq!(classify(ip(address)), class, "{address}");
        }
    }

    #[test]
    fn urls_name_addresses_in_the_forms_browsers_accept() {
        for (url, address) in [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://0x7f.0.0.1/", "127.0.0.1"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://0.0.0.0:8080/", "0.0.0.0"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
            (
                "http://169.254.169.254/latest/meta-data/",
                "169.254.169.254",
            ),
            ("http://0xa9fea9fe/", "169.254.169.254"),
        ] {
            assert_eq!(url_ip(url), ip(address), "{url}");
        }
        let policy = Policy::new(Purpose::Notifications, Vec::new());
        for url in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fc00::1]/",
            "http://0xa9fea9fe/",
        ] {
            let checked = policy.check_url(&reqwest::Url::parse(url).unwrap());
            assert!(
                matches!(checked, Err(Failure::Refused(_))),
                "{url}: {checked:?}"
            );
        }
        assert_eq!(
            policy.check_url(&reqwest::Url::parse("ftp://example.com/").unwrap()),
            Err(Failure::BadUrl("ftp://example.com/".into()))
        );
        assert_eq!(
            policy.check_url(&reqwest::Url::parse("https://8.8.8.8/hook").unwrap()),
            Ok(())
        );
    }

    #[test]
    fn allow_lists_open_internal_ranges_but_never_metadata() {
        let closed = Policy::new(Purpose::Notifications, Vec::new());
        let open = Policy::new(
            Purpose::Notifications,
            [
                "10.0.0.0/8",
                "169.254.0.0/16",
                "::ffff:192.168.0.0/112",
                "fd00::/8",
            ]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect(),
        );
        for allowed in [
            "10.2.3.4",
            "::ffff:10.2.3.4",
            "169.254.1.1",
            "192.168.3.4",
            "fd12::1",
        ] {
            assert!(closed.check("h", ip(allowed)).is_err(), "{allowed}");
            assert_eq!(open.check("h", ip(allowed)), Ok(()), "{allowed}");
        }
        for refused in ["11.0.0.1", "127.0.0.1", "192.169.0.1", "fc00::1"] {
            if classify(ip(refused)) != Class::Public {
                assert!(open.check("h", ip(refused)).is_err(), "{refused}");
            }
        }
        for metadata in ["169.254.169.254", "fd00:ec2::254"] {
            let refused = open.check("metadata.internal", ip(metadata)).unwrap_err();
            assert_eq!(refused.class, Class::Metadata);
            assert_eq!(
                refused.to_string(),
                format!(
                    "refused by the egress policy: metadata.internal ({metadata}) is a cloud metadata address, which shinrai never connects to on a user's behalf"
                )
            );
        }
        assert_eq!(
            closed
                .check("127.0.0.1", ip("127.0.0.1"))
                .unwrap_err()
                .to_string(),
            "refused by the egress policy: 127.0.0.1 is a loopback address; to allow it for notifications, \
             add it (or a range holding it) to --egress-allow-notifications (SHINRAI_EGRESS_ALLOW_NOTIFICATIONS)"
        );
    }

    #[test]
    fn ranges_parse_with_clear_errors() {
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        assert_eq!(
            "::ffff:10.0.0.0/104".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("1.2.3.4")));
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err("\"10.0.0.0/33\": a prefix of 33 bits is longer than the address (32 bits)".into())
        );
        assert_eq!(
            "intranet".parse::<Cidr>(),
            Err(
                "\"intranet\" is not an address or a CIDR range (like 10.0.0.0/8 or fd00::/8)"
                    .into()
            )
        );
    }

    /// A server on 127.0.0.1 that redirects every request to itself; its address and how
    /// many requests it answered.
    async fn redirect_loop() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    loop {
                        let Ok(n) = socket.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        got.extend_from_slice(&buf[..n]);
                        // GET requests have no body: each head is one request.
                        while let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                            got.drain(..i + 4);
                            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let answer = "HTTP/1.1 302 Found\r\nlocation: /again\r\ncontent-length: 0\r\n\r\n";
                            if socket.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, count)
    }

    #[tokio::test]
    async fn redirects_are_followed_up_to_a_limit() {
        let (addr, count) = redirect_loop().await;
        let client = Client::new(
            Policy::new(Purpose::Notifications, Cidr::loopback()),
            Duration::from_secs(10),
        )
        .unwrap();
        let req = client
            .request(reqwest::Method::GET, &format!("http://{addr}/"))
            .unwrap();
        let failed = client.send(req).await.unwrap_err();
        assert_eq!(failed, Failure::TooManyRedirects);
        assert!(failed.permanent());
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            MAX_REDIRECTS + 1,
            "the first request and {MAX_REDIRECTS} redirects"
        );
    }

    #[tokio::test]
    async fn names_are_checked_after_they_resolve() {
        let client = Client::new(
            Policy::new(Purpose::Notifications, Vec::new()),
            Duration::from_secs(10),
        )
        .unwrap();
        let req = client
            .request(reqwest::Method::GET, "http://localhost:9/")
            .unwrap();
        match client.send(req).await {
            Err(Failure::Refused(r)) => {
                assert_eq!(r.host, "localhost");
                assert_eq!(r.class, Class::Loopback);
            }
            other => panic!("localhost was not refused: {other:?}"),
        }
    }
}
