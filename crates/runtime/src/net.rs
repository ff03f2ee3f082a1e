//! Addresses and address ranges as settings name them: the egress policy's allow-lists
//! and the trusted proxies of sign-in throttling read ranges with the same rules.
//!
//! An IPv4 address mapped into IPv6 (`::ffff:203.0.113.5`) is the IPv4 address everywhere
//! here, since that is where a connection to it goes: a range written in the mapped form
//! is the IPv4 range it holds.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An address range, `10.0.0.0/8` or `fd00::/8`; a bare address is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    /// `127.0.0.0/8` and `::1/128`: what tests and the demo allow, where receivers listen
    /// on the same machine.
    pub fn loopback() -> Vec<Cidr> {
        vec![
            Cidr(IpNet::V4(
                Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).expect("a valid prefix"),
            )),
            Cidr(IpNet::V6(
                Ipv6Net::new(Ipv6Addr::LOCALHOST, 128).expect("a valid prefix"),
            )),
        ]
    }

    /// Whether `ip` lies in the range (an IPv4-mapped IPv6 address counts as its IPv4
    /// address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let bad =
            || format!("{s:?} is not an address or a CIDR range (like 10.0.0.0/8 or fd00::/8)");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(format!(
                "{s:?}: a prefix of {prefix} bits is longer than the address ({max} bits)"
            ));
        }
        let net = match addr {
            IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => {
                IpNet::new(canonical(addr), prefix - 96)
            }
            _ => IpNet::new(addr, prefix),
        }
        .map_err(|_| bad())?;
        Ok(Cidr(net.trunc()))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The address as it is connected to: an IPv4-mapped IPv6 address is its IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_hold_their_addresses_in_either_form() {
        let net: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.200.0.1")));
        assert!(net.contains(ip("::ffff:10.200.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let mapped: Cidr = "[::ffff:192.168.0.0]/112".parse().unwrap();
        assert_eq!(mapped.to_string(), "192.168.0.0/16");
        assert!(mapped.contains(ip("192.168.4.4")));
        let one: Cidr = "fd12::1".parse().unwrap();
        assert_eq!(one.to_string(), "fd12::1/128");
        assert!(one.contains(ip("fd12::1")) && !one.contains(ip("fd12::2")));
        assert!(
            "10.0.0.0/33"
                .parse::<Cidr>()
                .unwrap_err()
                .contains("33 bits")
        );
        assert!("ten/8".parse::<Cidr>().unwrap_err().contains("\"ten/8\""));
    }
}
