//! A shaping TCP proxy for `benches/promote.sh`: it sits on loopback in front of the local S3 server and
//! makes every connection behave a little more like one to real S3, where a request waits for its first
//! byte (~20 ms) and each connection's throughput is capped, so a client's concurrency decides its speed.
//!
//!   shaping_proxy --upstream 127.0.0.1:PORT [--listen 127.0.0.1:0] [--latency-ms 20] [--conn-mibps 60]
//!                 [--max-conns 256]
//!
//! Per accepted connection it opens one connection upstream and copies both ways, with two threads and
//! blocking sockets (cheap: it shares the machine's cores with the client and the server it measures):
//!
//! - first-byte latency: when bytes arrive from the client and no request is waiting for its answer, a
//!   request starts; the first bytes the server sends after that are held until `--latency-ms` after the
//!   request arrived (a deadline, so a server slower than that adds nothing more). Keep-alive
//!   connections carry several requests, one after the other: each one waits.
//! - bandwidth: each direction of each connection is paced by a token bucket of `--conn-mibps` MiB/s
//!   (0: no cap) that holds 5 ms of bytes (at least 64 KiB).
//!
//! It prints `listening 127.0.0.1:PORT` on stdout once it accepts, and one line per closed connection on
//! stderr. Only loopback addresses are accepted, at most `--max-conns` connections at once (more are
//! closed at once), and it exits by itself when its parent (the benchmark script) is gone.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const BUF: usize = 256 * 1024;
const USAGE: &str = "usage: shaping_proxy --upstream 127.0.0.1:PORT [--listen 127.0.0.1:0] [--latency-ms 20] \
                     [--conn-mibps 60] [--max-conns 256]";

struct Config {
    upstream: SocketAddr,
    latency: Duration,
    /// Bytes per second per direction per connection; 0: no cap.
    rate: f64,
    burst: Duration,
    max_conns: usize,
    epoch: Instant,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("shaping_proxy: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut upstream: Option<SocketAddr> = None;
    let mut latency_ms: u64 = 20;
    let mut mibps: f64 = 60.0;
    let mut max_conns: usize = 256;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--listen" => listen = value.parse().map_err(|e| bad(&e))?,
            "--upstream" => upstream = Some(value.parse().map_err(|e| bad(&e))?),
            "--latency-ms" => latency_ms = value.parse().map_err(|e| bad(&e))?,
            "--conn-mibps" => mibps = value.parse().map_err(|e| bad(&e))?,
            "--max-conns" => max_conns = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    let upstream = upstream.ok_or_else(|| format!("--upstream is required\n{USAGE}"))?;
    if !listen.ip().is_loopback() || !upstream.ip().is_loopback() {
        return Err("only loopback addresses (127.0.0.0/8, ::1) are allowed".into());
    }
    if !(mibps.is_finite() && mibps >= 0.0)
        || latency_ms > 10_000
        || max_conns == 0
        || max_conns > 4096
    {
        return Err(format!(
            "out of range: --conn-mibps >= 0, --latency-ms <= 10000, --max-conns 1..=4096\n{USAGE}"
        ));
    }
    let rate = mibps * 1048576.0;
    let burst = if rate > 0.0 {
        Duration::from_millis(5).max(Duration::from_secs_f64(65536.0 / rate))
    } else {
        Duration::ZERO
    };
    let config = Arc::new(Config {
        upstream,
        latency: Duration::from_millis(latency_ms),
        rate,
        burst,
        max_conns,
        epoch: Instant::now(),
    });

    let listener = TcpListener::bind(listen).map_err(|e| format!("bind {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening {local}");
    io::stdout().flush().ok();
    eprintln!(
        "shaping_proxy: {local} -> {upstream}, first byte >= {latency_ms} ms after each request, {} per direction per connection",
        if rate > 0.0 {
            format!("{mibps} MiB/s")
        } else {
            "no bandwidth cap".into()
        }
    );

    // Exit with the benchmark script, even if it is killed before it can stop us.
    let parent = std::os::unix::process::parent_id();
    thread::spawn(move || {
        loop {
            thread::sleep(Duration::from_millis(500));
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(0);
            }
        }
    });

    let active = Arc::new(AtomicUsize::new(0));
    let mut next_id: u64 = 0;
    for client in listener.incoming() {
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                eprintln!("shaping_proxy: accept: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        next_id += 1;
        let now_active = active.fetch_add(1, Ordering::SeqCst) + 1;
        if now_active > config.max_conns {
            active.fetch_sub(1, Ordering::SeqCst);
            eprintln!(
                "shaping_proxy: refused connection {next_id}: {} already open",
                config.max_conns
            );
            continue; // dropped: closed
        }
        let (config, active, id) = (Arc::clone(&config), Arc::clone(&active), next_id);
        let spawned = thread::Builder::new().stack_size(128 * 1024).spawn(move || {
            let started = Instant::now();
            let result = serve(client, &config);
            let open = active.fetch_sub(1, Ordering::SeqCst) - 1;
            match result {
                Ok(s) => eprintln!(
                    "conn {id}: {} requests, {} bytes up, {} bytes down, {:.2} s, peak open {now_active}, open now {open}",
                    s.requests,
                    s.up,
                    s.down,
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => eprintln!("conn {id}: {e}"),
            }
        });
        if let Err(e) = spawned {
            eprintln!("shaping_proxy: cannot start a thread: {e}");
        }
    }
    Ok(())
}

struct Stats {
    requests: u64,
    up: u64,
    down: u64,
}

fn serve(client: TcpStream, config: &Arc<Config>) -> io::Result<Stats> {
    let server = TcpStream::connect_timeout(&config.upstream, Duration::from_secs(5))?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    // When the oldest request without an answer arrived: nanoseconds since the epoch, plus one; 0: none.
    let pending = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));

    let (from_client, to_server) = (client.try_clone()?, server.try_clone()?);
    let (p, r, c) = (
        Arc::clone(&pending),
        Arc::clone(&requests),
        Arc::clone(config),
    );
    let up = thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            pump(from_client, to_server, &c, |config| {
                // Marked before the bytes are forwarded, so the server cannot answer before it is seen.
                let now = config.epoch.elapsed().as_nanos() as u64 + 1;
                if p.compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    r.fetch_add(1, Ordering::Relaxed);
                }
            })
        })?;
    let down = pump(server, client, config, |config| {
        let t = pending.swap(0, Ordering::SeqCst);
        if t != 0 {
            let due = config.epoch + Duration::from_nanos(t - 1) + config.latency;
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
        }
    });
    let up = up.join().unwrap_or(0);
    Ok(Stats {
        requests: requests.load(Ordering::Relaxed),
        up,
        down,
    })
}

/// Copies `from` to `to` until EOF or an error, calling `before` ahead of each chunk and pacing the
/// chunks to the configured rate. Returns the bytes copied.
fn pump(mut from: TcpStream, mut to: TcpStream, config: &Config, before: impl Fn(&Config)) -> u64 {
    let mut buf = vec![0u8; BUF];
    let mut copied = 0u64;
    // The token bucket as a virtual clock: the time by which the bytes sent so far are paid for.
    let mut paid: Option<Instant> = None;
    let clean = loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break false,
        };
        before(config);
        if config.rate > 0.0 {
            let now = Instant::now();
            let floor = now.checked_sub(config.burst).unwrap_or(now); // a full bucket
            let start = paid.map_or(floor, |t| t.max(floor));
            let t = start + Duration::from_secs_f64(n as f64 / config.rate);
            paid = Some(t);
            if t > now {
                thread::sleep(t - now);
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break false;
        }
        copied += n as u64;
    };
    if clean {
        let _ = to.shutdown(Shutdown::Write);
    } else {
        // Wake the other direction too.
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    }
    copied
}
