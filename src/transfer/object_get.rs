//! GetObject over HTTP/1.1 connections of our own, so that a response body goes from the socket
//! straight into the download's aligned buffers. Through the SDK's HTTP client every body chunk is
//! handed from hyper's connection task to ours and then copied into those buffers: 13 % of a
//! promote's CPU on loopback (perf, docs/benchmarks.md), and hyper's read buffer per request.
//!
//! The SDK still does what it is for: it resolves the endpoint and signs every request (a
//! presigned GetObject, SigV4 with the credential chain, IRSA included). Its client stays the path
//! where ours does not apply: an endpoint the environment's proxy variables send through a proxy
//! (decided by the same matcher the SDK's client uses, `NO_PROXY` included), or a server that
//! answers a GetObject with a chunked body (S3 sends `Content-Length`, RFC 9110 §8.6).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A presigned request is used at once; this only bounds its life. Its URL carries the access key
/// id and any session token, so no message ever includes it (only `scheme://host:port`).
const PRESIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// A response head larger than this is not S3's.
const MAX_HEAD: usize = 64 * 1024;
/// How much of an error body is kept for the message.
const MAX_ERROR_BODY: usize = 64 * 1024;

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}
type Connection = Box<dyn Stream>;

/// Keep-alive connections not in use, by `scheme://host:port`.
type Idle = Arc<Mutex<Vec<(String, Connection)>>>;

#[derive(Debug)]
pub enum GetError {
    /// Worth retrying: a refused or dropped connection, throttling, a 5xx.
    Transient(String),
    /// Will not change on a retry: access denied, no such key, a redirect.
    Refused(String),
    /// This server needs the SDK's client (a chunked body): use it from now on.
    Unsupported(String),
}

/// Sends GetObject requests on connections it keeps open between requests.
pub struct ObjectGetter {
    client: aws_sdk_s3::Client,
    idle: Idle,
    tls: OnceLock<Result<tokio_rustls::TlsConnector, String>>,
    /// Set when this path does not apply; every request then goes through the SDK.
    unsupported: Mutex<Option<String>>,
    /// `HTTP(S)_PROXY`, `ALL_PROXY` and `NO_PROXY` as the SDK's client reads them: an endpoint it
    /// would reach through a proxy is left to it.
    proxies: hyper_util::client::proxy::matcher::Matcher,
    /// Told once, when a server turns out to need the SDK's client.
    on_fallback: Box<dyn Fn(&str) + Send + Sync>,
}

impl ObjectGetter {
    pub fn new(
        client: &aws_sdk_s3::Client,
        on_fallback: Box<dyn Fn(&str) + Send + Sync>,
    ) -> ObjectGetter {
        ObjectGetter {
            client: client.clone(),
            idle: Arc::default(),
            tls: OnceLock::new(),
            unsupported: Mutex::new(None),
            proxies: hyper_util::client::proxy::matcher::Matcher::from_env(),
            on_fallback,
        }
    }

    /// The SDK's client, for the requests ours does not send.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Whether requests go through our connections (`None`), or why not.
    pub fn unsupported(&self) -> Option<String> {
        self.unsupported.lock().expect("getter lock").clone()
    }

    /// From now on every request goes through the SDK's client.
    pub fn give_up(&self, why: String) {
        let mut unsupported = self.unsupported.lock().expect("getter lock");
        if unsupported.is_none() {
            (self.on_fallback)(&format!(
                "{why}; using the AWS SDK's HTTP client from here on"
            ));
            *unsupported = Some(why);
        }
    }

    /// GETs `key` (bytes `range`, end exclusive, or all of it) and returns once the response head
    /// is in: a 2xx with its length known, or an error.
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Body, GetError> {
        let mut request = self.client.get_object().bucket(bucket).key(key);
        if let Some((from, to)) = range {
            request = request.range(format!("bytes={from}-{}", to - 1));
        }
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(PRESIGNED_FOR)
            .map_err(|error| GetError::Refused(error.to_string()))?;
        let presigned = request
            .presigned(config)
            .await
            .map_err(|error| GetError::Transient(super::download::describe_sdk_error(&error)))?;
        let target = Target::parse(presigned.uri())?;
        self.refuse_proxied(&target)?;
        let head = target.request_head(presigned.headers());
        // A kept-alive connection the server has since closed fails before any byte of an answer;
        // that costs a new connection, not a retry.
        if let Some(connection) = self.reuse(&target.origin) {
            match self.exchange(&target, connection, &head).await {
                Err(Exchange::ClosedEarly(_)) => {}
                other => return other.map_err(Exchange::into_error),
            }
        }
        let connection = self.connect(&target).await?;
        self.exchange(&target, connection, &head)
            .await
            .map_err(Exchange::into_error)
    }

    async fn exchange(
        &self,
        target: &Target,
        mut connection: Connection,
        head: &str,
    ) -> Result<Body, Exchange> {
        let lost = |error: std::io::Error| Exchange::ClosedEarly(error.to_string());
        connection.write_all(head.as_bytes()).await.map_err(lost)?;
        connection.flush().await.map_err(lost)?;
        let response = read_head(&mut connection).await?;
        if !(200..300).contains(&response.status) {
            return Err(Exchange::Failed(
                error_answer(connection, &response, target).await,
            ));
        }
        if response.chunked {
            return Err(Exchange::Failed(GetError::Unsupported(format!(
                "{} answered GetObject with a chunked body",
                target.origin
            ))));
        }
        let Some(length) = response.content_length else {
            return Err(Exchange::Failed(GetError::Unsupported(format!(
                "{} answered GetObject without Content-Length",
                target.origin
            ))));
        };
        let mut connection = Some(connection);
        if length == 0 && response.keep_alive {
            self.keep(&target.origin, connection.take());
        }
        Ok(Body {
            connection,
            leftover: response.leftover,
            taken: 0,
            length,
            remaining: length,
            keep_alive: response.keep_alive,
            origin: target.origin.clone(),
            idle: self.idle.clone(),
        })
    }

    /// Our connections go straight to the endpoint; where a proxy variable covers it (and
    /// `NO_PROXY` does not exclude it), only the SDK's client goes the way the user asked.
    fn refuse_proxied(&self, target: &Target) -> Result<(), GetError> {
        let origin: http::Uri = target
            .origin
            .parse()
            .map_err(|error| GetError::Refused(format!("`{}`: {error}", target.origin)))?;
        match self.proxies.intercept(&origin) {
            // The proxy's own address may carry a password: it is not repeated.
            Some(_) => Err(GetError::Unsupported(format!(
                "a proxy variable (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY; NO_PROXY does not \
                 exclude it) applies to {}",
                target.origin
            ))),
            None => Ok(()),
        }
    }

    fn keep(&self, origin: &str, connection: Option<Connection>) {
        if let Some(connection) = connection {
            let mut idle = self.idle.lock().expect("idle connections lock");
            idle.push((origin.to_string(), connection));
        }
    }

    fn reuse(&self, origin: &str) -> Option<Connection> {
        let mut idle = self.idle.lock().expect("idle connections lock");
        let at = idle.iter().rposition(|(o, _)| o == origin)?;
        Some(idle.swap_remove(at).1)
    }

    async fn connect(&self, target: &Target) -> Result<Connection, GetError> {
        let address = (target.host.as_str(), target.port);
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|error| {
                GetError::Transient(format!("cannot connect to {}: {error}", target.origin))
            })?;
        // Requests are one small write each; Nagle would only hold them back.
        let _ = tcp.set_nodelay(true);
        if !target.tls {
            return Ok(Box::new(tcp));
        }
        let connector = self
            .tls
            .get_or_init(tls_connector)
            .as_ref()
            .map_err(|error| GetError::Refused(error.clone()))?;
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|error| GetError::Refused(format!("`{}`: {error}", target.host)))?;
        let tls = connector.connect(name, tcp).await.map_err(|error| {
            GetError::Transient(format!("TLS with {} failed: {error}", target.origin))
        })?;
        Ok(Box::new(tls))
    }
}

/// TLS as the SDK's client does it: the system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` are
/// honoured), HTTP/1.1.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for certificate in found.certs {
        let _ = roots.add(certificate);
    }
    if roots.is_empty() {
        return Err(format!(
            "no trusted root certificates found for HTTPS to S3 ({} error(s) reading them); \
             install the system's CA certificates or set SSL_CERT_FILE",
            found.errors.len()
        ));
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// Where a presigned request goes.
struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// `scheme://host:port`, the key of kept-alive connections.
    origin: String,
    /// `host` or `host:port`, as signed.
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(uri: &str) -> Result<Target, GetError> {
        let refused = |why: &str| GetError::Refused(format!("presigned URL {why}"));
        let url = reqwest::Url::parse(uri).map_err(|error| refused(&error.to_string()))?;
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(refused(&format!("has scheme `{other}`"))),
        };
        let host = url
            .host_str()
            .ok_or_else(|| refused("has no host"))?
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| refused("has no port"))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let mut path_and_query = url.path().to_string();
        if let Some(query) = url.query() {
            path_and_query = format!("{path_and_query}?{query}");
        }
        Ok(Target {
            origin: format!("{}://{host}:{port}", url.scheme()),
            // `[::1]` in a URL is `::1` to the resolver.
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            tls,
            port,
            authority,
            path_and_query,
        })
    }

    fn request_head<'a>(&self, headers: impl Iterator<Item = (&'a str, &'a str)>) -> String {
        let mut head = format!("GET {} HTTP/1.1\r\n", self.path_and_query);
        let mut has_host = false;
        for (name, value) in headers {
            has_host |= name.eq_ignore_ascii_case("host");
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !has_host {
            head.push_str(&format!("Host: {}\r\n", self.authority));
        }
        head.push_str("\r\n");
        head
    }
}

/// What went wrong in one request/response on one connection.
enum Exchange {
    /// The connection failed before any byte of an answer: on a reused one, the server closed it.
    ClosedEarly(String),
    Failed(GetError),
}

impl Exchange {
    fn into_error(self) -> GetError {
        match self {
            Exchange::ClosedEarly(why) => GetError::Transient(format!("connection dropped: {why}")),
            Exchange::Failed(error) => error,
        }
    }
}

struct ResponseHead {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
    /// Bytes read past the head: the start of the body.
    leftover: Vec<u8>,
}

async fn read_head(connection: &mut Connection) -> Result<ResponseHead, Exchange> {
    let mut buffer = Vec::with_capacity(8 * 1024);
    loop {
        let mut chunk = [0u8; 8 * 1024];
        let n = match connection.read(&mut chunk).await {
            Ok(0) if buffer.is_empty() => {
                return Err(Exchange::ClosedEarly("closed before answering".into()));
            }
            Err(error) if buffer.is_empty() => {
                return Err(Exchange::ClosedEarly(error.to_string()));
            }
            Ok(0) => {
                return Err(Exchange::Failed(GetError::Transient(
                    "connection closed in the middle of a response head".into(),
                )));
            }
            Err(error) => {
                return Err(Exchange::Failed(GetError::Transient(format!(
                    "connection dropped: {error}"
                ))));
            }
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(head) = parse_head(&buffer).map_err(Exchange::Failed)? {
            return Ok(head);
        }
        if buffer.len() > MAX_HEAD {
            return Err(Exchange::Failed(GetError::Refused(format!(
                "response head over {} KiB",
                MAX_HEAD / 1024
            ))));
        }
    }
}

/// The head in `buffer`, or `None` while it is incomplete.
fn parse_head(buffer: &[u8]) -> Result<Option<ResponseHead>, GetError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(buffer) {
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(length)) => length,
        Err(error) => {
            return Err(GetError::Transient(format!(
                "malformed HTTP response: {error}"
            )));
        }
    };
    let header = |name: &str| {
        response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let lengths = header("content-length");
    let content_length = match lengths.as_slice() {
        [] => None,
        [one] => Some(one.parse::<u64>().map_err(|_| {
            GetError::Transient(format!(
                "Content-Length `{}` is not a number",
                crate::text::excerpt(one, 40)
            ))
        })?),
        _ => {
            return Err(GetError::Transient(
                "more than one Content-Length in a response".into(),
            ));
        }
    };
    let connection = header("connection");
    let http10 = response.version == Some(0);
    let keep_alive = if http10 {
        connection.iter().any(|v| v.contains("keep-alive"))
    } else {
        !connection.iter().any(|v| v.contains("close"))
    };
    Ok(Some(ResponseHead {
        status: response.code.unwrap_or(0),
        content_length,
        chunked: !header("transfer-encoding").is_empty(),
        keep_alive,
        leftover: buffer[length..].to_vec(),
    }))
}

/// A non-2xx answer: S3's XML error (`Code`, `Message`), classified as the SDK path does.
async fn error_answer(
    mut connection: Connection,
    response: &ResponseHead,
    target: &Target,
) -> GetError {
    let mut body = response.leftover.clone();
    let limit = response.content_length.map_or(MAX_ERROR_BODY, |length| {
        (length as usize).min(MAX_ERROR_BODY)
    });
    let read_rest = async {
        let mut chunk = [0u8; 8 * 1024];
        while body.len() < limit {
            match connection.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
    };
    // The status says enough on its own; the body only adds detail, and is not waited for long.
    let _ = tokio::time::timeout(Duration::from_secs(5), read_rest).await;
    let text = String::from_utf8_lossy(&body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_string())
    };
    let status = response.status;
    let code = element("Code").unwrap_or_default();
    let reason = match element("Message") {
        Some(message) if !code.is_empty() => format!(
            "{} ({})",
            crate::text::excerpt(&message, 300),
            crate::text::excerpt(&code, 60)
        ),
        _ => format!(
            "HTTP {status} from {}: {}",
            target.origin,
            crate::text::excerpt(&text, 300)
        ),
    };
    if worth_retrying(status, &code) {
        GetError::Transient(reason)
    } else {
        GetError::Refused(reason)
    }
}

/// Whether an S3 error answer may go away on a retry: throttling, a 5xx, a timeout.
pub fn worth_retrying(status: u16, code: &str) -> bool {
    status >= 500
        || status == 429
        || matches!(
            code,
            "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout" | "Throttling"
        )
}

/// A 2xx response's body, `length` bytes, read into the caller's buffers. Once all of it is in,
/// the connection goes back to the idle ones (unless the server said it closes it).
pub struct Body {
    connection: Option<Connection>,
    leftover: Vec<u8>,
    taken: usize,
    length: u64,
    remaining: u64,
    keep_alive: bool,
    origin: String,
    idle: Idle,
}

impl Body {
    /// The body's length, from `Content-Length`.
    pub fn content_length(&self) -> u64 {
        self.length
    }

    /// Reads body bytes into `out`; 0 at the end of the body, or when the connection closed early
    /// (the caller counts what arrived).
    pub async fn read_into(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let want = out
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = if self.taken < self.leftover.len() {
            let n = want.min(self.leftover.len() - self.taken);
            out[..n].copy_from_slice(&self.leftover[self.taken..self.taken + n]);
            self.taken += n;
            n
        } else {
            match &mut self.connection {
                Some(connection) => connection.read(&mut out[..want]).await?,
                None => 0,
            }
        };
        self.remaining -= n as u64;
        if n == 0 {
            self.connection = None;
        } else if self.remaining == 0
            && self.keep_alive
            && let Some(connection) = self.connection.take()
        {
            self.idle
                .lock()
                .expect("idle connections lock")
                .push((self.origin.clone(), connection));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_split_anywhere_parses_the_same() {
        let raw = b"HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhello";
        for cut in 0..raw.len() {
            let head = parse_head(&raw[..cut]).unwrap();
            if cut < raw.len() - 5 {
                assert!(head.is_none(), "complete at {cut}");
            }
        }
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.status, 206);
        assert_eq!(head.content_length, Some(5));
        assert!(head.keep_alive && !head.chunked);
        assert_eq!(head.leftover, b"hello");
    }

    #[test]
    fn hostile_lengths_are_refused() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        ] {
            assert!(parse_head(raw).is_err(), "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn close_and_chunked_are_noticed() {
        let head = parse_head(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(!head.keep_alive && head.chunked && head.content_length.is_none());
        let head = parse_head(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!head.keep_alive);
    }
}
