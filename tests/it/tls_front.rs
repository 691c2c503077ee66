//! A TLS front for a plain-HTTP server on loopback: it terminates TLS with a self-signed
//! certificate for 127.0.0.1 (made by rcgen when it starts) and relays the bytes. Real S3 is
//! HTTPS; with this in front of moto, and its certificate trusted through `SSL_CERT_FILE`, promote's
//! HTTPS path runs for real.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct TlsFront {
    pub url: String,
    /// TLS handshakes completed.
    pub handshakes: Arc<AtomicUsize>,
    certificate: tempfile::NamedTempFile,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TlsFront {
    pub fn start(upstream: &str) -> TlsFront {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let mut certificate = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut certificate, generated.cert.pem().as_bytes()).unwrap();
        let key =
            rustls::pki_types::PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![generated.cert.der().clone()], key.into())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let handshakes = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let counted = handshakes.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(listener, acceptor, upstream, counted, stopped));
        });
        TlsFront {
            url,
            handshakes,
            certificate,
            stop: Some(stop),
        }
    }

    /// The certificate to trust (PEM), for `SSL_CERT_FILE`.
    pub fn certificate(&self) -> &std::path::Path {
        self.certificate.path()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    upstream: String,
    handshakes: Arc<AtomicUsize>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        let (client, _) = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
        };
        let (acceptor, upstream, handshakes) =
            (acceptor.clone(), upstream.clone(), handshakes.clone());
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(client).await else {
                return;
            };
            handshakes.fetch_add(1, Ordering::SeqCst);
            let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
        });
    }
}
