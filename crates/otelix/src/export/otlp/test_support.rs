//! For the transport's tests: certificates made at test time (a CA, a server certificate for
//! `localhost` and 127.0.0.1, a client certificate), and an OTLP collector stand-in on
//! 127.0.0.1 (plaintext or TLS, optionally requiring a client certificate) that records what
//! arrives and answers as each test scripts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Frame;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::config::{Config, OtlpExport, Signal};

/// A header value the tests plant and then look for where it must never appear.
pub(crate) const SECRET: &str = "Bearer planted-secret-4f9c";

pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) ca: PathBuf,
    pub(crate) client_cert: PathBuf,
    pub(crate) client_key: PathBuf,
    /// A key that belongs to no certificate here.
    pub(crate) other_key: PathBuf,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl Pki {
    pub(crate) fn new() -> Pki {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("a key"))
            .expect("the CA");
        let server_key = KeyPair::generate().expect("a key");
        let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server parameters")
            .signed_by(&server_key, &ca)
            .expect("the server certificate");
        let client_key = KeyPair::generate().expect("a key");
        let client = CertificateParams::new(vec!["otelix-client".to_owned()])
            .expect("client parameters")
            .signed_by(&client_key, &ca)
            .expect("the client certificate");
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write a PEM file");
            path
        };
        Pki {
            ca: write("ca.pem", ca.pem()),
            client_cert: write("client.pem", client.pem()),
            client_key: write("client-key.pem", client_key.serialize_pem()),
            other_key: write(
                "other-key.pem",
                KeyPair::generate().expect("a key").serialize_pem(),
            ),
            ca_der: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            dir,
        }
    }

    /// The collector's TLS: h2 and http/1.1 offered, a client certificate signed by the CA
    /// required when `require_client` is set.
    pub(crate) fn server_config(&self, require_client: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("TLS versions");
        let builder = if require_client {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).expect("the CA as a root");
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .expect("a client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut config = builder
            .with_single_cert(self.server_chain.clone(), key)
            .expect("the server certificate and key");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// One signal's resolved OTLP settings from `vars`.
pub(crate) fn export(signal: Signal, vars: &[(&str, String)]) -> OtlpExport {
    Config::builder()
        .build_from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .expect("valid variables")
        .otlp(signal)
        .clone()
}

/// The request body both transports' tests send.
pub(crate) const BODY: &[u8] = b"\x0a\x03abc an encoded request";

/// A transport of `protocol` for `signal`, with an `authorization` header holding [`SECRET`]
/// and the settings of `vars`.
pub(crate) fn transport(
    protocol: &str,
    signal: Signal,
    vars: &[(&str, String)],
) -> crate::export::otlp::transport::Transport {
    let mut all = vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("authorization={}", SECRET.replace(' ', "%20")),
        ),
    ];
    all.extend(vars.iter().cloned());
    let export = export(signal, &all);
    let tls = crate::export::otlp::tls::client_config(signal, &export).expect("TLS settings");
    crate::export::otlp::transport::Transport::new(signal, &export, tls).expect("a transport")
}

/// Sends [`BODY`] once, with five seconds to answer.
pub(crate) async fn send(
    transport: &crate::export::otlp::transport::Transport,
) -> Result<Bytes, crate::export::otlp::transport::Failure> {
    let body = transport.prepare(BODY.to_vec()).expect("prepared");
    transport
        .send(body, std::time::Duration::from_secs(5))
        .await
}

/// The endpoint setting of `collector`, in plaintext.
pub(crate) fn plain(collector: &Collector) -> (&'static str, String) {
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{}", collector.addr.port()),
    )
}

/// A request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) version: http::Version,
    pub(crate) path: String,
    pub(crate) headers: http::HeaderMap,
    /// The body as it was on the wire.
    pub(crate) body: Bytes,
}

pub(crate) type Reply = http::Response<BoxBody<Bytes, Infallible>>;

type Respond = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A collector stand-in, serving until dropped.
pub(crate) struct Collector {
    pub(crate) addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Collector {
    pub(crate) async fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Collector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("the bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Respond = Arc::new(respond);
        let recorded = Arc::clone(&requests);
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (respond, recorded, acceptor) = (
                    Arc::clone(&respond),
                    Arc::clone(&recorded),
                    acceptor.clone(),
                );
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                serve(tls, respond, recorded).await;
                            }
                        }
                        None => serve(tcp, respond, recorded).await,
                    }
                });
            }
        });
        Collector {
            addr,
            requests,
            task,
        }
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn serve<IO>(io: IO, respond: Respond, recorded: Arc<Mutex<Vec<Recorded>>>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let (respond, recorded) = (Arc::clone(&respond), Arc::clone(&recorded));
            async move {
                let (parts, body) = request.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let request = Recorded {
                    version: parts.version,
                    path: parts.uri.path().to_owned(),
                    headers: parts.headers,
                    body,
                };
                let reply = respond(&request);
                recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(request);
                Ok::<_, Infallible>(reply)
            }
        });
    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}

/// A gRPC success carrying `message`.
pub(crate) fn grpc_ok(message: &[u8]) -> Reply {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames = vec![
        Ok(Frame::data(Bytes::from(framed))),
        Ok(Frame::trailers(trailers)),
    ];
    http::Response::builder()
        .header("content-type", "application/grpc")
        .body(StreamBody::new(futures_util::stream::iter(frames)).boxed())
        .expect("a response")
}

/// A gRPC failure, as a trailers-only response.
pub(crate) fn grpc_status(status: &tonic::Status) -> Reply {
    let mut response = http::Response::builder()
        .header("content-type", "application/grpc")
        .body(Full::new(Bytes::new()).boxed())
        .expect("a response");
    status
        .add_header(response.headers_mut())
        .expect("status headers");
    response
}

/// An HTTP answer.
pub(crate) fn http_reply(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut response = http::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response
        .body(Full::new(Bytes::copy_from_slice(body)).boxed())
        .expect("a response")
}

/// The gRPC message of a recorded request: its 5-byte prefix checked, gunzipped when the
/// prefix says it is compressed.
pub(crate) fn grpc_message(body: &[u8]) -> (bool, Vec<u8>) {
    assert!(body.len() >= 5, "not a gRPC message: {body:?}");
    let compressed = body[0] == 1;
    let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    assert_eq!(body.len(), len + 5);
    let message = &body[5..];
    if compressed {
        (true, gunzip(message))
    } else {
        (false, message.to_vec())
    }
}

pub(crate) fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("gzip data");
    out
}
