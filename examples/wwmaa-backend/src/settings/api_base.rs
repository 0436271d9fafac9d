//! Where the calls to the external APIs go: a URL, or the sandbox this process serves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where the calls to one external service go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiBase {
    /// The sandbox served by this process, under `/sandbox/{name}`.
    Sandbox,
    /// A real (or other) API at this base URL, without a trailing slash.
    Url(String),
}

/// The sandbox's base URL for a server listening on `addr`, without a trailing slash: a
/// wildcard address (`0.0.0.0`, `::`) is reached through the loopback address of its family.
pub fn sandbox_base(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/sandbox", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_base_follows_the_bound_address() {
        let base = |addr: &str| addr.parse().map(sandbox_base);
        assert_eq!(
            base("0.0.0.0:8000").ok().as_deref(),
            Some("http://127.0.0.1:8000/sandbox")
        );
        assert_eq!(
            base("[::]:9000").ok().as_deref(),
            Some("http://[::1]:9000/sandbox")
        );
        assert_eq!(
            base("10.1.2.3:80").ok().as_deref(),
            Some("http://10.1.2.3:80/sandbox")
        );
    }
}
