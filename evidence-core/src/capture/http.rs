//! Fetching one endpoint: bounded, verified, and never leaking the bearer token.
//!
//! - TLS is verified against the bundled web PKI roots (rustls); there is no switch to turn
//!   verification off.
//! - Every call has a connect timeout and an overall timeout, and a response body cap.
//! - Redirects are followed by hand (at most [`HttpOptions::max_redirects`]) so each hop is
//!   recorded, and the token is sent only while the request stays on the target's origin
//!   (scheme, host and port): a redirect to another origin is followed without it.
//! - A network failure, a timeout or an oversized body is a result, not an error: the caller
//!   records it as a failed check.

use std::time::Duration;

use ureq::http::Uri;

/// Limits and timeouts for one capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for one request, redirects included.
    pub timeout: Duration,
    /// Largest response body kept, in bytes; a larger body fails its endpoint.
    pub max_body_bytes: u64,
    /// Most redirects followed.
    pub max_redirects: u32,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            max_body_bytes: 16 << 20,
            max_redirects: 5,
        }
    }
}

/// Scheme, host and port: what decides where a token may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// The host, lower case.
    pub host: String,
    /// The port (the scheme's default when not written).
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute `http`/`https` URL.
    pub fn of(uri: &Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = match (uri.port_u16(), scheme.as_str()) {
            (Some(p), _) => p,
            (None, "http") => 80,
            (None, "https") => 443,
            _ => return None,
        };
        Some(Self {
            host: uri.host()?.to_ascii_lowercase(),
            scheme,
            port,
        })
    }
}

/// A capture target: an absolute `http`/`https` URL without credentials, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given, with a trailing `/` removed.
    pub url: String,
    /// Its origin.
    pub origin: Origin,
}

/// Why a target URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target {url:?}: {reason}")]
pub struct TargetError {
    /// The URL given.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

impl Target {
    /// Parses and checks a target URL.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let err = |reason: &str| TargetError {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| err("not a URL"))?;
        let origin = Origin::of(&uri)
            .ok_or_else(|| err("must be an absolute http:// or https:// URL with a host"))?;
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(err(
                "credentials in the URL are refused; pass --token instead",
            ));
        }
        if uri.query().is_some() || url.contains('#') {
            return Err(err("no query or fragment: endpoints add their own"));
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            origin,
        })
    }

    /// The URL of an endpoint path (`/health`) under this target.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// What one endpoint answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// The final HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Response headers of the final response (names lower case), in order.
    pub headers: Vec<(String, String)>,
    /// The body (at most the cap).
    pub body: Vec<u8>,
    /// Why the fetch failed, when it did.
    pub error: Option<String>,
    /// Each redirect followed: `(status, location)`.
    pub redirects: Vec<(u16, String)>,
    /// Whether the token was withheld because a redirect left the target's origin.
    pub left_origin: bool,
}

/// An HTTP client for one capture.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    opts: HttpOptions,
}

impl Client {
    /// A client with these options.
    pub fn new(opts: HttpOptions) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_global(Some(opts.timeout))
            .max_redirects(0)
            // A fresh connection per request: a reused one waits out TCP delayed
            // acknowledgement on servers that write the head and the body separately
            // (Python's http.server, as the ZERO engine: 40 ms per request).
            .max_idle_connections(0)
            .http_status_as_error(false)
            .user_agent(concat!("evidence/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent, opts }
    }

    /// GETs `url`, sending `token` as a bearer token only to `origin`.
    pub fn get(&self, url: &str, origin: &Origin, token: Option<&str>) -> Fetched {
        let mut out = Fetched::default();
        let mut current = url.to_owned();
        let mut hops = 0u32;
        loop {
            let uri: Uri = match current.parse() {
                Ok(u) => u,
                Err(_) => {
                    out.error = Some(format!("cannot parse URL {current:?}"));
                    return out;
                }
            };
            let same_origin = Origin::of(&uri).as_ref() == Some(origin);
            let mut request = self.agent.get(&current);
            if let (Some(t), true) = (token, same_origin) {
                request = request.header("Authorization", format!("Bearer {t}"));
            }
            let mut response = match request.call() {
                Ok(r) => r,
                Err(e) => {
                    out.error = Some(describe(&e));
                    return out;
                }
            };
            match self.redirect(&uri, &response, origin, &mut hops, &mut out) {
                Hop::Follow(next) => current = next,
                Hop::Stop => return out,
                Hop::Arrived => {
                    self.read_final(&mut response, &mut out);
                    return out;
                }
            }
        }
    }

    /// Decides on one response: a redirect to follow (recorded in `out`), a redirect that
    /// ends the fetch (too many, or a location that cannot be resolved), or the final answer.
    fn redirect(
        &self,
        uri: &Uri,
        response: &ureq::http::Response<ureq::Body>,
        origin: &Origin,
        hops: &mut u32,
        out: &mut Fetched,
    ) -> Hop {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(location) = location.filter(|_| (300..400).contains(&status)) else {
            return Hop::Arrived;
        };
        *hops += 1;
        if *hops > self.opts.max_redirects {
            out.status = Some(status);
            out.error = Some(format!("more than {} redirects", self.opts.max_redirects));
            return Hop::Stop;
        }
        let Some(next) = resolve(uri, &location) else {
            out.status = Some(status);
            out.error = Some(format!("cannot follow redirect to {location:?}"));
            return Hop::Stop;
        };
        out.redirects.push((status, next.clone()));
        let next_uri: Option<Uri> = next.parse().ok();
        if next_uri.as_ref().and_then(Origin::of).as_ref() != Some(origin) {
            out.left_origin = true;
        }
        Hop::Follow(next)
    }

    /// Records the final response: status, headers (names lower case) and body (at most the
    /// cap; a larger one is an error).
    fn read_final(&self, response: &mut ureq::http::Response<ureq::Body>, out: &mut Fetched) {
        out.status = Some(response.status().as_u16());
        out.headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        match response
            .body_mut()
            .with_config()
            .limit(self.opts.max_body_bytes)
            .read_to_vec()
        {
            Ok(body) => out.body = body,
            Err(ureq::Error::BodyExceedsLimit(limit)) => {
                out.error = Some(format!(
                    "response body is larger than the limit of {limit} bytes"
                ));
            }
            Err(e) => out.error = Some(describe(&e)),
        }
    }
}

/// What one response of a fetch leads to.
enum Hop {
    /// A redirect to this URL.
    Follow(String),
    /// The fetch ends here; `Fetched` says why.
    Stop,
    /// The final response.
    Arrived,
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(what) => format!("timed out ({what})"),
        other => other.to_string(),
    }
}

/// Resolves a `Location` header against the URL it came from (absolute, scheme-relative,
/// absolute-path or relative-path references; RFC 3986 section 5.2 without dot removal, which
/// the server's own path handling applies).
fn resolve(base: &Uri, location: &str) -> Option<String> {
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    if location.contains("://") {
        return Some(location.to_owned());
    }
    if let Some(rest) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{rest}"));
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path = base.path();
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    Some(format!("{scheme}://{authority}{dir}/{location}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked() {
        let t = Target::parse("https://API.example:8443/base/").unwrap();
        assert_eq!(t.url, "https://API.example:8443/base");
        assert_eq!(t.join("/health"), "https://API.example:8443/base/health");
        assert_eq!(
            t.origin,
            Origin {
                scheme: "https".into(),
                host: "api.example".into(),
                port: 8443
            }
        );
        for bad in [
            "ftp://x/",
            "api.example",
            "https://user:pw@api.example",
            "https://api.example/?a=1",
            "https://api.example/#x",
            "",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Target::parse("http://h").unwrap().origin.port, 80);
    }

    #[test]
    fn redirect_locations_resolve() {
        let base: Uri = "http://a.example:81/x/y?q=1".parse().unwrap();
        assert_eq!(
            resolve(&base, "https://b.example/z").unwrap(),
            "https://b.example/z"
        );
        assert_eq!(
            resolve(&base, "//c.example/z").unwrap(),
            "http://c.example/z"
        );
        assert_eq!(resolve(&base, "/z").unwrap(), "http://a.example:81/z");
        assert_eq!(resolve(&base, "z").unwrap(), "http://a.example:81/x/z");
    }
}
