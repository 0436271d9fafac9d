//! Putting it together: the application state, the actix `App` (one `RequestTelemetry`
//! middleware around everything), start-up, and graceful shutdown.

use std::net::{SocketAddr, TcpListener};

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpServer};
use otelix::TelemetryHandle;
use otelix_actix::{metrics_endpoints, RequestTelemetry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cache::MemberCache;
use crate::errors;
use crate::external::{ClientBuildError, Externals};
use crate::job::DunningJob;
use crate::routes;
use crate::sandbox::{self, SandboxBehavior};
use crate::settings::Settings;
use crate::store::{Store, StoreError};

/// How long in-flight requests may take to finish once shutdown starts, in seconds.
pub const SHUTDOWN_GRACE_SECONDS: u64 = 30;

/// What handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The member cache.
    pub cache: MemberCache,
    /// The external services.
    pub external: Externals,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `BIND_ADDR` could not be bound.
    #[error("cannot listen on {addr} (BIND_ADDR)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// `METRICS_ADDR` could not be bound.
    #[error("cannot listen on {addr} (METRICS_ADDR)")]
    BindMetrics {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be prepared.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cache could not be set up.
    #[error("cannot set up the cache (REDIS_URL)")]
    Cache(#[from] otelix::cache::CacheError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientBuildError),
    /// The HTTP server could not start on the bound socket.
    #[error("cannot start the HTTP server: {0}")]
    Server(std::io::Error),
}

/// The actix application: JSON error handling, the `RequestTelemetry` middleware around every
/// route (the sandbox's too, so its SERVER spans continue the callers' traces), `/metrics`,
/// `/metrics/summary`, the API, the sandbox when any service uses it, and a JSON 404.
pub fn app(
    state: web::Data<AppState>,
    telemetry: TelemetryHandle,
    middleware: RequestTelemetry,
    sandbox: Option<SandboxBehavior>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let app = App::new()
        .app_data(state)
        .app_data(errors::json_config())
        .app_data(errors::path_config())
        .app_data(errors::query_config())
        .wrap(middleware)
        .configure(metrics_endpoints(telemetry))
        .configure(routes::configure);
    let app = match sandbox {
        Some(behavior) => app.configure(sandbox::routes(behavior)),
        None => app,
    };
    app.default_service(web::to(errors::not_found))
}

/// A service that is set up (socket bound, database ready) but not yet serving.
#[derive(Debug)]
pub struct Application {
    settings: Settings,
    telemetry: TelemetryHandle,
    listener: TcpListener,
    local_addr: SocketAddr,
    /// The metrics endpoints' own listener, with `METRICS_ADDR`.
    metrics_listener: Option<TcpListener>,
    state: web::Data<AppState>,
    job: DunningJob,
}

impl Application {
    /// Binds `BIND_ADDR`, opens (and if needed creates and seeds) the database, sets up the
    /// cache and the external clients.
    ///
    /// # Errors
    ///
    /// [`StartError`] naming what could not be set up.
    pub async fn build(settings: Settings, telemetry: TelemetryHandle) -> Result<Self, StartError> {
        let addr = settings.bind_addr();
        let bind_error = |source| StartError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let metrics_listener = match telemetry.config().metrics_addr() {
            Some(addr) => {
                let bind_error = |source| StartError::BindMetrics { addr, source };
                Some(TcpListener::bind(addr).map_err(bind_error)?)
            }
            None => None,
        };
        let store = Store::open(
            settings.database_url(),
            settings.database_max_connections(),
            settings.database_acquire_timeout(),
            &telemetry,
        )
        .await?;
        let cache = MemberCache::new(&settings, &telemetry)?;
        let external = Externals::new(&settings, local_addr, &telemetry)?;
        let job = DunningJob::new(
            store.clone(),
            cache.clone(),
            external.clone(),
            &telemetry,
            settings.dunning_batch_size(),
            settings.dunning_interval(),
        );
        Ok(Application {
            state: web::Data::new(AppState {
                store,
                cache,
                external,
            }),
            settings,
            telemetry,
            listener,
            local_addr,
            metrics_listener,
            job,
        })
    }

    /// The address of the metrics endpoints' own listener, with `METRICS_ADDR`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The address actually bound (`BIND_ADDR` with port 0 gets a free port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The start-up block: where it listens, where telemetry goes, the database, the cache,
    /// the external services and the environment. No passwords.
    pub fn startup_summary(&self) -> String {
        let config = self.telemetry.config();
        let base = format!("http://{}", self.local_addr);
        let mut out = format!(
            "wwmaa-backend {} listening on {base} (APP_ENV={})\n",
            env!("CARGO_PKG_VERSION"),
            config.environment().as_str()
        );
        let exporting = |e: otelix::Exporters| e.otlp && !config.sdk_disabled();
        let signals: Vec<&str> = [
            ("traces", exporting(config.traces_exporters())),
            ("metrics", exporting(config.metrics_exporters())),
            ("logs", exporting(config.logs_exporters())),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        if signals.is_empty() {
            out.push_str("  telemetry   OTLP export off\n");
        } else {
            out.push_str(&format!(
                "  telemetry   OTLP {} {} ({})\n",
                config.otlp(otelix::Signal::Traces).protocol.as_str(),
                config.traces_endpoint(),
                signals.join(", ")
            ));
        }
        if config.prometheus_enabled() {
            let metrics_base = self
                .metrics_addr()
                .map_or_else(|| base.clone(), |addr| format!("http://{addr}"));
            let token = if config.metrics_bearer_token().is_some() {
                "  (bearer token required)"
            } else {
                ""
            };
            out.push_str(&format!(
                "  metrics     {metrics_base}{}  {metrics_base}/metrics/summary{token}\n",
                config.metrics_path()
            ));
        }
        let slow = config.slow_query();
        out.push_str(&format!(
            "  slow query  {} (from {} ms)\n",
            slow.log_file.display(),
            slow.threshold.as_millis()
        ));
        out.push_str(&format!(
            "  database    {}\n",
            self.settings.database_url().display()
        ));
        out.push_str(&format!(
            "  cache       {}\n",
            self.state.cache.description()
        ));
        let services: Vec<String> = self
            .state
            .external
            .bases()
            .iter()
            .map(|(service, url)| format!("{service}={}", crate::settings::without_password(url)))
            .collect();
        out.push_str(&format!("  externals   {}\n", services.join(" ")));
        if self.settings.uses_sandbox() {
            out.push_str(&format!(
                "  sandbox     latency {} ms, failure rate {}\n",
                self.settings.sandbox_latency().as_millis(),
                self.settings.sandbox_failure_rate()
            ));
        }
        out.push_str(&format!(
            "  job         dunning_reminder every {} s",
            self.settings.dunning_interval().as_secs()
        ));
        out
    }

    /// Starts serving and the background job. Must run inside an actix (Tokio) runtime.
    ///
    /// # Errors
    ///
    /// [`StartError::Server`] when the server cannot use the bound socket.
    pub fn start(self) -> Result<Running, StartError> {
        let Application {
            settings,
            telemetry,
            listener,
            local_addr,
            metrics_listener,
            state,
            job,
        } = self;
        let metrics_server = match metrics_listener {
            Some(listener) => Some(
                otelix_actix::metrics_server(telemetry.clone(), listener)
                    .map_err(StartError::Server)?,
            ),
            None => None,
        };
        let middleware = RequestTelemetry::new(&telemetry);
        let sandbox = settings
            .uses_sandbox()
            .then(|| SandboxBehavior::from_settings(&settings));
        let server = HttpServer::new(move || {
            app(
                state.clone(),
                telemetry.clone(),
                middleware.clone(),
                sandbox,
            )
        })
        // Signals are handled by the caller (`Running::shutdown_trigger`), so that Ctrl-C and
        // SIGTERM both drain in-flight requests and stop the job at a safe point.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
        .listen(listener)
        .map_err(StartError::Server)?
        .run();
        let server_handle = server.handle();
        let server_task = actix_web::rt::spawn(server);
        let metrics_handle = metrics_server.map(|metrics| {
            let handle = metrics.handle();
            actix_web::rt::spawn(metrics);
            handle
        });
        let (job_stop, job_stop_rx) = watch::channel(false);
        let job_task = actix_web::rt::spawn(job.run_forever(job_stop_rx));
        Ok(Running {
            local_addr,
            server_task,
            job_task,
            trigger: ShutdownTrigger {
                server: server_handle,
                metrics: metrics_handle,
                job: std::sync::Arc::new(job_stop),
            },
        })
    }
}

/// Stops a [`Running`] service. Cheap to clone; calling it twice is harmless.
#[derive(Clone)]
pub struct ShutdownTrigger {
    server: ServerHandle,
    /// The metrics endpoints' own server, with `METRICS_ADDR`.
    metrics: Option<ServerHandle>,
    job: std::sync::Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for ShutdownTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownTrigger").finish_non_exhaustive()
    }
}

impl ShutdownTrigger {
    /// Graceful: the job stops at its next safe point; the server stops accepting and lets
    /// in-flight requests finish (up to [`SHUTDOWN_GRACE_SECONDS`]). Returns when the server
    /// has stopped.
    pub async fn graceful(&self) {
        self.job.send_replace(true);
        self.server.stop(true).await;
        // Scrapes go on while requests drain; the metrics listener closes last.
        if let Some(metrics) = &self.metrics {
            metrics.stop(true).await;
        }
    }

    /// Immediate: connections are dropped, in-flight requests too.
    pub async fn immediate(&self) {
        self.job.send_replace(true);
        self.server.stop(false).await;
        if let Some(metrics) = &self.metrics {
            metrics.stop(false).await;
        }
    }
}

/// A serving service.
#[derive(Debug)]
pub struct Running {
    local_addr: SocketAddr,
    server_task: JoinHandle<std::io::Result<()>>,
    job_task: JoinHandle<()>,
    trigger: ShutdownTrigger,
}

impl Running {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What stops the service.
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        self.trigger.clone()
    }

    /// Waits until the server has stopped, then for the job to finish its current run.
    ///
    /// # Errors
    ///
    /// What the server failed with.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = self
            .server_task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // The server may also stop on its own (an error): the job follows it.
        self.trigger.job.send_replace(true);
        if let Err(error) = self.job_task.await {
            tracing::error!(%error, "the dunning job ended abnormally");
        }
        served
    }
}
