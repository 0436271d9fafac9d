//! # wwmaa-backend
//!
//! The otelix example service: the backend of a members' association (members, Stripe
//! payments, BeeHiiv newsletters, Cloudflare video uploads, an AI classification registry and
//! a dues-reminder job) on actix-web, instrumented with otelix. It runs offline by default:
//! SQLite in `./data`, an in-process cache, and the four external APIs served by a sandbox in
//! the same process.
//!
//! The binary (`src/main.rs`) reads [`Settings::from_env`] and `otelix::Config::from_env`,
//! installs telemetry and runs an [`Application`]. Tests do the same in-process, with
//! telemetry built by `otelix::Telemetry::builder(..).build()`:
//!
//! ```no_run
//! # async fn run(telemetry: otelix::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
//! use wwmaa_backend::{Application, Settings};
//!
//! let settings = Settings::from_vars([("BIND_ADDR", "127.0.0.1:0")])?;
//! let app = Application::build(settings, telemetry.handle()).await?;
//! println!("{}", app.startup_summary());
//! let running = app.start()?;
//! let stop = running.shutdown_trigger();
//! // ... requests to running.local_addr() ...
//! stop.graceful().await;
//! running.wait().await?;
//! telemetry.shutdown()?.log();
//! # Ok(())
//! # }
//! ```
//!
//! | Module | What |
//! |---|---|
//! | [`settings`] | the service's environment variables, validated |
//! | [`app`](mod@app) | the actix `App`, start-up, graceful shutdown |
//! | [`routes`] | `/health` and `/api/...` |
//! | [`store`] | schema, seed data and queries (SQLite or PostgreSQL through `sqlx::Any`) |
//! | [`cache`] | the member cache (in-process or Redis) |
//! | [`external`] | calls to `stripe`, `beehiiv`, `cloudflare`, `ai_registry` |
//! | [`sandbox`] | in-process stand-ins for those four APIs |
//! | [`job`] | the `dunning_reminder` background job |
#![deny(missing_docs)]

pub mod app;
pub mod cache;
pub mod calendar;
pub mod errors;
pub mod external;
pub mod job;
pub mod routes;
pub mod sandbox;
pub mod settings;
pub mod store;

pub use app::{app, AppState, Application, Running, ShutdownTrigger, StartError};
pub use settings::{Settings, SettingsError, SETTING_VARS};
