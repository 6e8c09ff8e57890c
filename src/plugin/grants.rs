//! Capability grants: what one plugin may touch. Everything not granted here is denied.

use std::path::PathBuf;

/// The grants of one plugin: `--allow-read`, `--allow-host`, `--allow-env`, `--set`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Directories preopened read-only, absolute and canonical.
    pub read: Vec<PathBuf>,
    /// Hosts `http-request` may reach.
    pub hosts: Vec<HostGrant>,
    /// Environment variables handed to the plugin (name, value), resolved by settings.
    pub env: Vec<(String, String)>,
    /// `--set K=V` (or a `[[check]]` `config` table, by key), in order.
    pub config: Vec<(String, String)>,
}

/// One `--allow-host`: `example.com`, `*.example.com` (subdomains only), either with an optional `:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostGrant {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostGrant {
    /// Parses `HOST`, `*.HOST`, `HOST:PORT`, `[::1]:PORT`.
    pub fn parse(text: &str) -> Result<HostGrant, String> {
        let t = text.trim().to_ascii_lowercase();
        let bad =
            || format!("`{text}` is not a host such as api.example.com, *.example.com or 127.0.0.1:8080");
        if t.is_empty() || t.contains('/') || t.contains('@') {
            return Err(bad());
        }
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (format!("[{host}]"), port)
        } else {
            match t.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?)),
                None => (t.clone(), None),
            }
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_string(), true),
            None => (host, false),
        };
        if host.is_empty() || host.contains('*') {
            return Err(bad());
        }
        Ok(HostGrant { host, wildcard, port })
    }

    /// Whether this grant covers `host` (as the URL parser spells it: lowercase, IPv6 in brackets) on `port`.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let name_ok = if self.wildcard {
            host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host[..host.len() - self.host.len()].ends_with('.')
        } else {
            host == self.host
        };
        name_ok && self.port.is_none_or(|p| p == port)
    }
}

impl std::fmt::Display for HostGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// Whether a granted *name* may lead to `addr`. A name is a promise about a remote service, so it may not
/// lead to this machine or its link: loopback, link-local (169.254.169.254, the cloud metadata service),
/// unspecified, multicast and broadcast addresses are refused, IPv4-mapped forms included. Private
/// networks (10/8, 192.168/16, fc00::/7) stay reachable: that is where internal APIs live. A grant of
/// the address itself (`127.0.0.1:8080`) is not resolved at all, and `localhost`, granted by that
/// exact name, means loopback.
pub fn name_may_reach(name: &str, addr: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    if name.trim_end_matches('.').eq_ignore_ascii_case("localhost") {
        return true;
    }
    let v4_refused = |ip: std::net::Ipv4Addr| {
        ip.is_loopback()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_broadcast()
            || ip.octets()[0] == 0
    };
    match addr {
        IpAddr::V4(ip) => !v4_refused(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return !v4_refused(v4);
            }
            let link_local = (ip.segments()[0] & 0xffc0) == 0xfe80;
            !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || link_local)
        }
    }
}

/// Why a URL may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlDenied {
    Invalid(String),
    Host(String),
}

/// Checks a URL against the host grants: only http/https, no credentials in it, a granted host and port.
pub fn check_url(hosts: &[HostGrant], url: &str) -> Result<reqwest::Url, UrlDenied> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| UrlDenied::Invalid(format!("`{url}` is not a URL: {e}")))?;
    check_parsed(hosts, &parsed)?;
    Ok(parsed)
}

/// [`check_url`] for an already parsed URL (a redirect target).
pub fn check_parsed(hosts: &[HostGrant], url: &reqwest::Url) -> Result<(), UrlDenied> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlDenied::Invalid(format!("scheme `{}` is not http or https", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlDenied::Invalid("credentials in the URL are not allowed; send a header".into()));
    }
    let host = url.host_str().ok_or_else(|| UrlDenied::Invalid(format!("`{url}` has no host")))?;
    let port = url.port_or_known_default().unwrap_or(0);
    if hosts.iter().any(|g| g.allows(host, port)) {
        Ok(())
    } else {
        Err(UrlDenied::Host(format!("{host}:{port}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(list: &[&str]) -> Vec<HostGrant> {
        list.iter().map(|g| HostGrant::parse(g).unwrap()).collect()
    }

    #[test]
    fn exact_host_any_port_or_the_given_port() {
        let g = grants(&["api.example.com", "127.0.0.1:8080"]);
        assert!(check_url(&g, "https://api.example.com/x").is_ok());
        assert!(check_url(&g, "http://API.example.com:9000/").is_ok());
        assert!(check_url(&g, "http://127.0.0.1:8080/").is_ok());
        assert_eq!(check_url(&g, "http://127.0.0.1:8081/"), Err(UrlDenied::Host("127.0.0.1:8081".into())));
        assert!(matches!(check_url(&g, "https://evil.com/?api.example.com"), Err(UrlDenied::Host(_))));
        assert!(matches!(check_url(&g, "https://api.example.com.evil.com/"), Err(UrlDenied::Host(_))));
    }

    #[test]
    fn wildcard_covers_subdomains_only() {
        let g = grants(&["*.example.com"]);
        assert!(check_url(&g, "https://a.b.example.com/").is_ok());
        assert!(check_url(&g, "https://example.com/").is_err());
        assert!(check_url(&g, "https://badexample.com/").is_err());
    }

    #[test]
    fn tricky_urls_are_refused() {
        let g = grants(&["api.example.com"]);
        // The granted name as userinfo in front of another host: refused (for the credentials, before the host).
        assert!(check_url(&g, "https://api.example.com@evil.com/").is_err());
        assert!(matches!(check_url(&g, "https://user:pw@api.example.com/"), Err(UrlDenied::Invalid(_))));
        assert!(matches!(check_url(&g, "file:///etc/passwd"), Err(UrlDenied::Invalid(_))));
        assert!(matches!(check_url(&g, "not a url"), Err(UrlDenied::Invalid(_))));
        assert!(check_url(&[], "https://api.example.com/").is_err(), "no grant, no host");
    }

    #[test]
    fn a_granted_name_may_not_lead_to_this_machine_or_its_link() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!name_may_reach("api.example.com", ip(refused)), "{refused}");
        }
        for allowed in [
            "93.184.216.34",
            "10.0.0.5",
            "192.168.1.1",
            "172.16.0.1",
            "2606:2800:220:1::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(name_may_reach("api.example.com", ip(allowed)), "{allowed}");
        }
        assert!(name_may_reach("localhost", ip("127.0.0.1")) && name_may_reach("LOCALHOST.", ip("::1")));
        assert!(
            !name_may_reach("a.localhost", ip("127.0.0.1")),
            "only the exact name localhost means loopback"
        );
    }

    #[test]
    fn grants_parse_and_print() {
        assert_eq!(HostGrant::parse("[::1]:80").unwrap().to_string(), "[::1]:80");
        assert!(check_url(&grants(&["[::1]"]), "http://[::1]:9/").is_ok());
        assert!(HostGrant::parse("http://x").is_err());
        assert!(HostGrant::parse("*").is_err());
        assert!(HostGrant::parse("x:99999").is_err());
    }
}
