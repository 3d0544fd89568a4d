//! How an address and port are written for people: `10.0.0.4:22`,
//! `[fe80::1]:22` (the brackets keep an IPv6 address apart from its port).

use std::fmt;
use std::net::IpAddr;

/// An address and port, displayed as `10.0.0.4:22` or `[fe80::1]:22`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint(pub IpAddr, pub u16);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_bracketed() {
        let v4: IpAddr = "10.0.0.4".parse().unwrap();
        let v6: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(Endpoint(v4, 22).to_string(), "10.0.0.4:22");
        assert_eq!(Endpoint(v6, 5986).to_string(), "[fe80::1]:5986");
    }
}
