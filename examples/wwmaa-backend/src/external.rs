//! Calls to the four external services, through otelix's `ExternalClient`: each is a CLIENT
//! span (`service.peer.name` = `stripe`, `beehiiv`, `cloudflare` or `ai_registry`,
//! `otelix.operation`), carries `traceparent`, and lands in `http.client.request.duration`.
//!
//! By default the base URLs point at the sandbox this process serves (see [`crate::sandbox`]),
//! so the calls are real HTTP requests and the sandbox's SERVER spans are children of these
//! CLIENT spans in the same trace.

use actix_web::http::StatusCode;
use otelix::external::ExternalClient;
use otelix_actix::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::settings::{sandbox_base, ApiBase, Settings};

/// Why an external call failed. Messages name the service and the class of failure, never a
/// URL (which may hold credentials) or a response body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalError {
    /// The service answered with a status that is not a success.
    #[error("{service} answered {status}")]
    Status {
        /// The peer service.
        service: &'static str,
        /// Its status code.
        status: u16,
    },
    /// No answer within `EXTERNAL_API_TIMEOUT_MS`.
    #[error("{service} did not answer in time")]
    Timeout {
        /// The peer service.
        service: &'static str,
    },
    /// The request could not be sent or the answer not received.
    #[error("{service} could not be reached: {error}")]
    Transport {
        /// The peer service.
        service: &'static str,
        /// What the client said.
        error: reqwest_middleware::Error,
    },
    /// The answer was not the JSON expected.
    #[error("{service} sent an unexpected answer: {error}")]
    Decode {
        /// The peer service.
        service: &'static str,
        /// What the client said.
        error: reqwest::Error,
    },
}

impl ExternalError {
    /// The error for the client: 504 when the service timed out, 502 otherwise. The body says
    /// only "Bad Gateway" or "Gateway Timeout"; the details are logged.
    pub fn into_api_error(self) -> ApiError {
        tracing::error!(error = %self, "external call failed");
        match self {
            ExternalError::Timeout { service } => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, format!("{service} timed out"))
            }
            other => ApiError::new(StatusCode::BAD_GATEWAY, other.to_string()),
        }
    }
}

/// One external service: its instrumented client and base URL.
#[derive(Debug, Clone)]
struct Api {
    service: &'static str,
    client: ExternalClient,
    base: String,
}

impl Api {
    fn new(
        service: &'static str,
        client: &ExternalClient,
        base: &ApiBase,
        sandbox: &str,
        sandbox_name: &str,
    ) -> Api {
        Api {
            service,
            client: client.service(service),
            base: match base {
                ApiBase::Sandbox => format!("{sandbox}/{sandbox_name}"),
                ApiBase::Url(url) => url.clone(),
            },
        }
    }

    async fn post<B, T>(
        &self,
        operation: &'static str,
        path: &str,
        body: &B,
    ) -> Result<T, ExternalError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let service = self.service;
        let response = self
            .client
            .operation(operation)
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|source| match &source {
                reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => {
                    ExternalError::Timeout { service }
                }
                _ => ExternalError::Transport {
                    service,
                    error: source,
                },
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(ExternalError::Status {
                service,
                status: status.as_u16(),
            });
        }
        response.json().await.map_err(|source| {
            if source.is_timeout() {
                ExternalError::Timeout { service }
            } else {
                ExternalError::Decode {
                    service,
                    error: source,
                }
            }
        })
    }
}

/// A Stripe payment intent, as far as this service cares.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    /// Stripe's ID (`pi_...`).
    pub id: String,
    /// `succeeded`, `processing`, `requires_payment_method`, ...
    pub status: String,
}

/// A BeeHiiv subscription.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Subscription {
    /// BeeHiiv's ID (`sub_...`).
    pub id: String,
    /// `active`, `validating`, ...
    pub status: String,
}

#[derive(Deserialize)]
struct BeehiivEnvelope<T> {
    data: T,
}

/// A Cloudflare Stream direct-upload slot.
#[derive(Debug, Clone, Deserialize)]
pub struct DirectUpload {
    /// The video's ID.
    pub uid: String,
    /// Where the client uploads the file.
    #[serde(rename = "uploadURL")]
    pub upload_url: String,
}

#[derive(Deserialize)]
struct CloudflareEnvelope<T> {
    result: T,
}

/// A classification from the AI registry.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Classification {
    /// The label.
    pub label: String,
    /// From 0 to 1.
    pub confidence: f64,
    /// The model that answered.
    pub model: String,
}

/// Makes rustls with `ring` the process's crypto provider, unless one is installed already.
///
/// Call it before building any `reqwest::Client` in this build ([`Externals::new`] does):
/// reqwest is built with its `rustls-no-provider` feature, so that aws-lc-rs stays out of the
/// dependency graph and ring, which otelix's OTLP transport uses, is the only provider, and
/// reqwest panics when a client is built before a provider is installed.
pub fn install_crypto_provider() {
    // An error means a provider is installed already, and the first one installed stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client every external API is called with: server certificates are verified against
/// the system's roots, by rustls with ring.
fn http_client_builder(timeout: std::time::Duration) -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("wwmaa-backend/", env!("CARGO_PKG_VERSION")))
}

/// The four external services. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Externals {
    stripe: Api,
    beehiiv: Api,
    cloudflare: Api,
    ai_registry: Api,
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for external APIs")]
pub struct ClientBuildError(#[from] reqwest::Error);

impl Externals {
    /// Clients for the services `settings` name; services left at their default go to the
    /// sandbox of the server listening on `local_addr`.
    ///
    /// # Errors
    ///
    /// [`ClientBuildError`] when the TLS or HTTP stack cannot be set up.
    pub fn new(
        settings: &Settings,
        local_addr: std::net::SocketAddr,
        telemetry: &otelix::TelemetryHandle,
    ) -> Result<Externals, ClientBuildError> {
        let http = http_client_builder(settings.external_timeout()).build()?;
        let client = ExternalClient::new(http, telemetry);
        let sandbox = sandbox_base(local_addr);
        Ok(Externals {
            stripe: Api::new("stripe", &client, settings.stripe(), &sandbox, "stripe"),
            beehiiv: Api::new("beehiiv", &client, settings.beehiiv(), &sandbox, "beehiiv"),
            cloudflare: Api::new(
                "cloudflare",
                &client,
                settings.cloudflare(),
                &sandbox,
                "cloudflare",
            ),
            ai_registry: Api::new(
                "ai_registry",
                &client,
                settings.ai_registry(),
                &sandbox,
                "ai",
            ),
        })
    }

    /// `(service, base URL)` of each service, for the start-up summary (the URLs as given:
    /// remove credentials before printing them).
    pub fn bases(&self) -> [(&'static str, &str); 4] {
        [
            (self.stripe.service, &self.stripe.base),
            (self.beehiiv.service, &self.beehiiv.base),
            (self.cloudflare.service, &self.cloudflare.base),
            (self.ai_registry.service, &self.ai_registry.base),
        ]
    }

    /// Stripe: creates and confirms a payment intent.
    ///
    /// # Errors
    ///
    /// [`ExternalError`].
    pub async fn create_payment_intent(
        &self,
        member_id: i64,
        amount_cents: i64,
        currency: &str,
    ) -> Result<PaymentIntent, ExternalError> {
        let body = serde_json::json!({
            "amount": amount_cents,
            "currency": currency,
            "confirm": true,
            "metadata": { "member_id": member_id.to_string() },
        });
        self.stripe
            .post("create_payment", "/v1/payment_intents", &body)
            .await
    }

    /// BeeHiiv: subscribes `email` to the newsletter.
    ///
    /// # Errors
    ///
    /// [`ExternalError`].
    pub async fn subscribe(&self, email: &str) -> Result<Subscription, ExternalError> {
        let body = serde_json::json!({
            "email": email,
            "reactivate_existing": true,
            "send_welcome_email": true,
        });
        let envelope: BeehiivEnvelope<Subscription> = self
            .beehiiv
            .post("subscribe", "/v2/subscriptions", &body)
            .await?;
        Ok(envelope.data)
    }

    /// BeeHiiv: enrols `email` in the dues-reminder automation.
    ///
    /// # Errors
    ///
    /// [`ExternalError`].
    pub async fn send_dues_reminder(&self, email: &str) -> Result<(), ExternalError> {
        let body = serde_json::json!({ "email": email });
        let _: serde_json::Value = self
            .beehiiv
            .post(
                "send_dues_reminder",
                "/v2/automations/dues-reminder/journeys",
                &body,
            )
            .await?;
        Ok(())
    }

    /// Cloudflare Stream: reserves a direct-upload URL.
    ///
    /// # Errors
    ///
    /// [`ExternalError`].
    pub async fn direct_upload(
        &self,
        name: &str,
        max_duration_seconds: u32,
    ) -> Result<DirectUpload, ExternalError> {
        let body = serde_json::json!({
            "maxDurationSeconds": max_duration_seconds,
            "meta": { "name": name },
        });
        let envelope: CloudflareEnvelope<DirectUpload> = self
            .cloudflare
            .post("create_upload_url", "/stream/direct_upload", &body)
            .await?;
        Ok(envelope.result)
    }

    /// AI registry: classifies `text`.
    ///
    /// # Errors
    ///
    /// [`ExternalError`].
    pub async fn classify(&self, text: &str) -> Result<Classification, ExternalError> {
        let body = serde_json::json!({ "text": text });
        self.ai_registry
            .post("classify", "/v1/classify", &body)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// An https server on 127.0.0.1 with a certificate for `localhost` signed by a CA made
    /// here, answering every request `200 ok`. Returns that CA and the server's address.
    async fn https_server() -> (reqwest::Certificate, SocketAddr) {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut chunk = [0; 1024];
                    while !request.ends_with(b"\r\n\r\n") {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let response =
                        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        (reqwest::Certificate::from_der(ca.der()).unwrap(), addr)
    }

    #[tokio::test]
    async fn the_external_client_reaches_https_servers_its_roots_trust_and_no_other() {
        let (ca, addr) = https_server().await;
        let url = format!("https://localhost:{}/", addr.port());

        let trusting = http_client_builder(Duration::from_secs(10))
            .resolve("localhost", addr)
            .tls_certs_merge([ca])
            .build()
            .expect("the client builds with ring as the provider");
        let response = trusting.get(&url).send().await.expect("the TLS handshake");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "ok");

        // The system's roots alone do not know the test CA: the certificate is refused.
        let system_roots = http_client_builder(Duration::from_secs(10))
            .resolve("localhost", addr)
            .build()
            .expect("the client builds with ring as the provider");
        let refused = system_roots
            .get(&url)
            .send()
            .await
            .expect_err("a certificate from an unknown CA");
        let chain = format!("{:?}", anyhow::Error::new(refused));
        assert!(
            chain.contains("UnknownIssuer"),
            "refused for another reason: {chain}"
        );
    }
}
