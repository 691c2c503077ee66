//! A small loopback HTTP proxy in front of a real server, for failure tests: it can answer the first
//! requests with 503, refuse requests whose path contains a string, cut, stall or delay them, or
//! rewrite the server's `Date`, and forwards the rest (see [`Fault`]). Each forwarded request is
//! sent with `Connection: close`, so every request is seen on its own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer the first `count` requests with 503 and `Retry-After: 0`.
    Unavailable { count: usize },
    /// Answer requests whose path contains `path` with `status` and an MLflow-style error.
    Reject { path: &'static str, status: u16 },
    /// Answer only the `nth` (1-based) request whose line contains `path` with `status`.
    RejectNth {
        path: &'static str,
        nth: usize,
        status: u16,
    },
    /// S3 object GETs (`GET` lines containing `path`, not listings): the first `times` answer 503
    /// with S3's `SlowDown` error.
    S3SlowDown { path: &'static str, times: usize },
    /// The first `times` object GETs relay `after` body bytes, then the connection drops.
    DropBody {
        path: &'static str,
        after: usize,
        times: usize,
    },
    /// The first `times` object GETs relay `after` body bytes, then go silent for `seconds`.
    StallBody {
        path: &'static str,
        after: usize,
        seconds: u64,
        times: usize,
    },
    /// Every object GET waits `millis` before it is forwarded (a slow network).
    Delay { path: &'static str, millis: u64 },
    /// An ingress's body limit: a request declaring more than `bytes` of body is answered 413
    /// without being forwarded (as nginx's `client_max_body_size` does).
    BodyLimit { bytes: u64 },
    /// Listing requests for a second or later page wait `millis` before they are forwarded; how
    /// many object GETs were forwarded meanwhile is recorded in `gets_while_delayed`.
    DelayLaterListingPages { millis: u64 },
    /// Any request whose line contains `path` (any method) waits `millis` before it is forwarded;
    /// how many were held is counted in `delayed` (not a fault).
    DelayRequests { path: &'static str, millis: u64 },
    /// Requests whose line contains `path` are forwarded, and the server's `Date` header is
    /// replaced by `date`, or removed when `None`.
    RewriteDate {
        path: &'static str,
        date: Option<&'static str>,
    },
    /// Object GETs matching `path` are answered with the server's body re-sent in chunked
    /// transfer encoding, without `Content-Length` (as some S3-compatible servers do).
    Chunked { path: &'static str },
    /// Requests whose line contains `path` get a hostile answer of the test's making; the others
    /// are forwarded.
    Hostile { path: &'static str, answer: Hostile },
    /// Keep-alive as a real S3 front does it: each client connection serves requests one after
    /// another (every one forwarded to the server on a connection of its own), and is closed
    /// without warning after `requests_per_connection` answers, as a server whose idle timeout
    /// fires just as the client sends its next request. Connections are counted in `connections`.
    KeepAlive { requests_per_connection: usize },
    /// No fault: forward and count.
    None,
}

/// What a hostile server answers.
#[derive(Clone, Debug)]
pub enum Hostile {
    /// `302 Found` to this URL.
    Redirect(String),
    /// `status` with this body.
    Body { status: u16, body: Arc<Vec<u8>> },
    /// `200` announcing `len` bytes, then one byte every `interval_ms`.
    Drip { len: usize, interval_ms: u64 },
}

impl Hostile {
    fn write_to(&self, client: &mut TcpStream) -> std::io::Result<()> {
        match self {
            Hostile::Redirect(location) => write!(
                client,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
            Hostile::Body { status, body } => {
                write!(
                    client,
                    "HTTP/1.1 {status} Hostile\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )?;
                client.write_all(body)
            }
            Hostile::Drip { len, interval_ms } => {
                write!(
                    client,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                )?;
                for _ in 0..*len {
                    client.write_all(b" ")?;
                    std::thread::sleep(Duration::from_millis(*interval_ms));
                }
                Ok(())
            }
        }
    }
}

impl Fault {
    /// Whether this request is an S3 object GET the fault applies to.
    fn matches_object_get(path: &str, request_line: &str) -> bool {
        request_line.starts_with("GET ")
            && request_line.contains(path)
            && !request_line.contains("list-type")
    }
}

pub struct FaultProxy {
    pub url: String,
    /// Requests answered with a fault.
    pub faults: Arc<AtomicUsize>,
    /// Requests forwarded to the real server.
    pub forwarded: Arc<AtomicUsize>,
    /// Bytes of responses relayed from the real server (heads included).
    pub relayed_bytes: Arc<AtomicUsize>,
    /// Object GETs forwarded while a request held by `DelayLaterListingPages` waited.
    pub gets_while_delayed: Arc<AtomicUsize>,
    /// Requests held by `DelayRequests`.
    pub delayed: Arc<AtomicUsize>,
    /// Client connections accepted.
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: &str, fault: Fault) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let faults = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let relayed_bytes = Arc::new(AtomicUsize::new(0));
        let relayed = relayed_bytes.clone();
        let gets_while_delayed = Arc::new(AtomicUsize::new(0));
        let delayed = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = connections.clone();
        let counters = Counters {
            faults: faults.clone(),
            forwarded: forwarded.clone(),
            relayed: relayed.clone(),
            object_gets: Arc::new(AtomicUsize::new(0)),
            gets_while_delayed: gets_while_delayed.clone(),
            matched: Arc::new(AtomicUsize::new(0)),
            delayed: delayed.clone(),
        };
        let s = stop.clone();
        std::thread::spawn(move || {
            let seen = Arc::new(AtomicUsize::new(0));
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        let (upstream, fault, seen, counters) = (
                            upstream.clone(),
                            fault.clone(),
                            seen.clone(),
                            counters.clone(),
                        );
                        std::thread::spawn(move || {
                            let _ = match fault {
                                Fault::KeepAlive {
                                    requests_per_connection,
                                } => keep_alive(
                                    client,
                                    &upstream,
                                    requests_per_connection,
                                    &counters,
                                ),
                                _ => handle(client, &upstream, &fault, &seen, &counters),
                            };
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy {
            url,
            faults,
            forwarded,
            relayed_bytes,
            gets_while_delayed,
            delayed,
            connections,
            stop,
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Clone)]
struct Counters {
    faults: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    relayed: Arc<AtomicUsize>,
    object_gets: Arc<AtomicUsize>,
    gets_while_delayed: Arc<AtomicUsize>,
    /// Requests that matched a `RejectNth` path so far.
    matched: Arc<AtomicUsize>,
    delayed: Arc<AtomicUsize>,
}

/// The `Content-Length` a request head declares.
fn declared_length(head: &str) -> Option<u64> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<u64>().ok())
            .flatten()
    })
}

fn handle(
    mut client: TcpStream,
    upstream: &str,
    fault: &Fault,
    seen: &AtomicUsize,
    counters: &Counters,
) -> std::io::Result<()> {
    let (faults, forwarded) = (counters.faults.as_ref(), counters.forwarded.as_ref());
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Read the request head.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head_text = String::from_utf8_lossy(&head).to_string();
    let request_line = head_text.lines().next().unwrap_or_default().to_string();
    let number = seen.fetch_add(1, Ordering::SeqCst);
    const UNAVAILABLE: &str =
        "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":\"injected\"}";
    const REJECTED: &str =
        "{\"error_code\":\"INVALID_PARAMETER_VALUE\",\"message\":\"injected rejection\"}";
    const TOO_LARGE: &str = "{\"error_code\":\"REQUEST_ENTITY_TOO_LARGE\",\"message\":\"injected: request body over the proxy's limit\"}";
    const SLOW_DOWN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>";
    let object_get = |path: &str| Fault::matches_object_get(path, &request_line);
    if let Fault::Hostile { path, answer } = fault
        && request_line.contains(path)
    {
        faults.fetch_add(1, Ordering::SeqCst);
        return answer.write_to(&mut client);
    }
    // (body bytes to relay, seconds to stall) for a fault that cuts the body short.
    let mut body_fault: Option<(usize, Option<u64>)> = None;
    let faulty = match fault {
        Fault::Unavailable { count } => (number < *count).then_some((503, UNAVAILABLE)),
        Fault::Reject { path, status } => {
            request_line.contains(path).then_some((*status, REJECTED))
        }
        Fault::RejectNth { path, nth, status } if request_line.contains(path) => {
            let n = counters.matched.fetch_add(1, Ordering::SeqCst) + 1;
            (n == *nth).then_some((*status, REJECTED))
        }
        Fault::S3SlowDown { path, times } if object_get(path) => {
            (faults.load(Ordering::SeqCst) < *times).then_some((503, SLOW_DOWN))
        }
        Fault::DropBody { path, after, times }
            if object_get(path) && faults.load(Ordering::SeqCst) < *times =>
        {
            body_fault = Some((*after, None));
            None
        }
        Fault::StallBody {
            path,
            after,
            seconds,
            times,
        } if object_get(path) && faults.load(Ordering::SeqCst) < *times => {
            body_fault = Some((*after, Some(*seconds)));
            None
        }
        Fault::Delay { path, millis } if object_get(path) => {
            std::thread::sleep(Duration::from_millis(*millis));
            None
        }
        Fault::DelayRequests { path, millis } if request_line.contains(path) => {
            counters.delayed.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(*millis));
            None
        }
        Fault::BodyLimit { bytes } => declared_length(&head_text)
            .is_some_and(|length| length > *bytes)
            .then_some((413, TOO_LARGE)),
        Fault::DelayLaterListingPages { millis }
            if request_line.contains("list-type")
                && request_line.contains("continuation-token") =>
        {
            let before = counters.object_gets.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(*millis));
            let during = counters.object_gets.load(Ordering::SeqCst) - before;
            counters
                .gets_while_delayed
                .fetch_max(during, Ordering::SeqCst);
            None
        }
        _ => None,
    };
    if let Some((status, body)) = faulty {
        faults.fetch_add(1, Ordering::SeqCst);
        if status == 413 {
            // Read the refused body first, as an ingress that answers 413 keeps reading it: a
            // client still writing would otherwise see a broken pipe instead of the answer.
            let declared = declared_length(&head_text).unwrap_or(0);
            std::io::copy(&mut (&mut client).take(declared), &mut std::io::sink())?;
        }
        let response = format!(
            "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nRetry-After: 0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        client.write_all(response.as_bytes())?;
        return Ok(());
    }
    forwarded.fetch_add(1, Ordering::SeqCst);
    if object_get("") {
        counters.object_gets.fetch_add(1, Ordering::SeqCst);
    }
    let answer = match fault {
        Fault::RewriteDate { path, date } if request_line.contains(path) => Answer::Date(*date),
        Fault::Chunked { path } if object_get(path) => Answer::Chunked,
        _ => body_fault.map_or(Answer::Relay, |(after, stall)| Answer::Cut { after, stall }),
    };
    forward(client, upstream, &head_text, answer, counters)
}

/// What the client gets of a forwarded request's answer.
enum Answer {
    /// All of it.
    Relay,
    /// The head and `after` body bytes, then (for `stall` seconds) nothing, then the end.
    Cut { after: usize, stall: Option<u64> },
    /// All of it, its `Date` header replaced (removed when `None`).
    Date(Option<&'static str>),
    /// All of it, the body in chunked transfer encoding.
    Chunked,
}

/// Forwards the request head with `Connection: close`, pipes the request body, and answers the
/// client as `answer` says until the server closes.
fn forward(
    mut client: TcpStream,
    upstream: &str,
    head_text: &str,
    answer: Answer,
    counters: &Counters,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream)?;
    let (mut rewritten, _) =
        head_without(head_text.as_bytes(), "connection").expect("a whole head");
    rewritten.push_str("Connection: close\r\n\r\n");
    server.write_all(rewritten.as_bytes())?;
    let (mut client_read, mut server_write) = (client.try_clone()?, server.try_clone()?);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut server_write);
    });
    match answer {
        Answer::Relay => {
            let bytes = std::io::copy(&mut server, &mut client)?;
            counters.relayed.fetch_add(bytes as usize, Ordering::SeqCst);
        }
        Answer::Cut { after, stall } => {
            counters.faults.fetch_add(1, Ordering::SeqCst);
            relay_part_of_body(&mut server, &mut client, after)?;
            if let Some(seconds) = stall {
                std::thread::sleep(Duration::from_secs(seconds));
            }
        }
        Answer::Date(date) => {
            counters.faults.fetch_add(1, Ordering::SeqCst);
            let mut answer = Vec::new();
            server.read_to_end(&mut answer)?;
            client.write_all(&with_date(&answer, date))?;
        }
        Answer::Chunked => {
            counters.faults.fetch_add(1, Ordering::SeqCst);
            let mut answer = Vec::new();
            server.read_to_end(&mut answer)?;
            client.write_all(&with_chunked_body(&answer))?;
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// Relays the response head and `after` bytes of its body, then stops.
fn relay_part_of_body(
    server: &mut TcpStream,
    client: &mut TcpStream,
    after: usize,
) -> std::io::Result<()> {
    let mut relayed = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = server.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        relayed.extend_from_slice(&buffer[..n]);
        if let Some(end) = relayed.windows(4).position(|w| w == b"\r\n\r\n")
            && relayed.len() >= end + 4 + after
        {
            client.write_all(&relayed[..end + 4 + after])?;
            return client.flush();
        }
    }
}

/// A message's head lines (each ending in CRLF, without the blank line), less the `header` ones,
/// and its body; `None` when the head is incomplete.
fn head_without<'a>(message: &'a [u8], header: &str) -> Option<(String, &'a [u8])> {
    let end = message.windows(4).position(|w| w == b"\r\n\r\n")?;
    let prefix = format!("{}:", header.to_ascii_lowercase());
    let lines = String::from_utf8_lossy(&message[..end])
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with(&prefix) && !line.is_empty())
        .map(|line| format!("{line}\r\n"))
        .collect();
    Some((lines, &message[end + 4..]))
}

/// `response` with its `Date` header replaced by `date`, or removed when `None`.
fn with_date(response: &[u8], date: Option<&str>) -> Vec<u8> {
    let Some((mut out, body)) = head_without(response, "date") else {
        return response.to_vec();
    };
    if let Some(date) = date {
        out.push_str(&format!("Date: {date}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `response` with its body sent in chunks of at most 64 KiB and no `Content-Length`.
fn with_chunked_body(response: &[u8]) -> Vec<u8> {
    let Some((mut out, body)) = head_without(response, "content-length") else {
        return response.to_vec();
    };
    out.push_str("Transfer-Encoding: chunked\r\n\r\n");
    let mut bytes = out.into_bytes();
    for chunk in body.chunks(64 * 1024) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// Serves up to `requests` requests on one client connection (see `Fault::KeepAlive`), then closes
/// it without a `Connection: close`.
fn keep_alive(
    mut client: TcpStream,
    upstream: &str,
    requests: usize,
    counters: &Counters,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    for _ in 0..requests {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if client.read(&mut byte)? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
        }
        let head_text = String::from_utf8_lossy(&head).to_string();
        let mut body = vec![0u8; declared_length(&head_text).unwrap_or(0) as usize];
        client.read_exact(&mut body)?;
        let mut server = TcpStream::connect(upstream)?;
        let (forwarded, _) = head_without(&head, "connection").expect("a whole head");
        server.write_all(format!("{forwarded}Connection: close\r\n\r\n").as_bytes())?;
        server.write_all(&body)?;
        let mut answer = Vec::new();
        server.read_to_end(&mut answer)?;
        counters.forwarded.fetch_add(1, Ordering::SeqCst);
        let Some(kept) = kept_alive(&answer) else {
            // No length to delimit the body: only closing the connection can.
            client.write_all(&answer)?;
            return Ok(());
        };
        client.write_all(&kept)?;
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// `response` as an HTTP/1.1 answer on a kept-alive connection: no `Connection` header. `None`
/// when it has no `Content-Length`.
fn kept_alive(response: &[u8]) -> Option<Vec<u8>> {
    let (head, body) = head_without(response, "connection")?;
    if !head.to_ascii_lowercase().contains("\r\ncontent-length:") {
        return None;
    }
    let mut bytes = head.replacen("HTTP/1.0", "HTTP/1.1", 1).into_bytes();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    Some(bytes)
}
