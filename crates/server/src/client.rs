//! Who is on the other end of a request: the client's address, for throttling sign-in.
//!
//! The peer of the TCP connection is the client unless it is one of the trusted proxies
//! named in settings (`--trusted-proxies`); only then is `X-Forwarded-For` read, from the
//! right (the hop the trusted proxy itself saw) leftwards past further trusted proxies.
//! Anything a client writes into the header beyond that is ignored, so a client cannot
//! choose the address it is counted under.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use runtime::net::{Cidr, canonical};

use crate::AppState;

/// The client's address, as far as the trusted proxies vouch for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Served without connection info (never in `run`): the unspecified address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(client_ip(
            peer,
            &forwarded,
            &state.settings.trusted_proxies,
        )))
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the rightmost
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, forwarded: &[&str], trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(*ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded.iter().flat_map(|h| h.split(',')).map(str::trim);
    let mut client = peer;
    for hop in hops.collect::<Vec<_>>().into_iter().rev() {
        // A hop that is not an address ends what the proxies vouch for.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = canonical(ip);
        if !is_trusted(&client) {
            break;
        }
    }
    canonical(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let trusted = vec![cidr("10.0.0.0/8"), cidr("192.0.2.7")];
        // Straight from the client: the header is the client's own word, ignored.
        assert_eq!(
            client_ip(ip("203.0.113.5"), &["198.51.100.1"], &trusted),
            ip("203.0.113.5")
        );
        // Through a trusted proxy: the address it saw.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &["203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // A client that forges hops in front of the proxy's is counted as itself.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &["1.2.3.4, 203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // Two trusted proxies in a row, the header split over two lines.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &["203.0.113.9", "192.0.2.7"], &trusted),
            ip("203.0.113.9")
        );
        // Garbage ends the chain at the last trusted hop.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &["203.0.113.9, nonsense"], &trusted),
            ip("10.1.2.3")
        );
        // No trusted proxies configured: the peer, always.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &["203.0.113.9"], &[]),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_ip(ip("::ffff:10.1.2.3"), &["203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
    }
}
