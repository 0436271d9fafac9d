//! The resolver: for each row of the settings table, the value set in code, else the
//! variable's, else the row's default; then the settings that depend on others (endpoints on
//! the protocol, the log format and the slow-query log's place on the environment) and the
//! checks across rows (a batch no larger than its queue, critical no shorter than warning).

use std::ffi::OsString;
use std::fmt::Debug;
use std::path::PathBuf;

use super::error::ConfigError;
use super::settings::*;
use super::slow_query::SlowQuerySettings;
use super::table::Setting;
use super::types::{BatchSettings, Environment, LogFormat, SamplerKind, Secret};
use super::{Config, ConfigBuilder};

/// The variables, read through a lookup function (the process environment, or a map).
pub(super) struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<OsString>,
}

impl<'a> Vars<'a> {
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<OsString>) -> Self {
        Vars { lookup }
    }

    /// The variable's text; `None` when unset or blank (the specification's "empty counts as
    /// unset").
    fn raw<T>(&self, setting: &Setting<T>) -> Result<Option<String>, ConfigError> {
        let var = setting.name();
        let Some(raw) = (self.lookup)(var) else {
            return Ok(None);
        };
        let raw = raw
            .into_string()
            .map_err(|_| ConfigError::NotUnicode { var })?;
        Ok((!raw.trim().is_empty()).then_some(raw))
    }

    /// The variable's value, parsed by the row's parser.
    pub(super) fn env<T>(&self, setting: &Setting<T>) -> Result<Option<T>, ConfigError> {
        let Some(raw) = self.raw(setting)? else {
            return Ok(None);
        };
        (setting.parse)(&raw)
            .map(Some)
            .map_err(|expected| setting.invalid_env(&raw, expected))
    }

    /// The value set in code (checked by the row), else the variable's, else the row's
    /// default; `None` only for rows whose default is derived or unset.
    pub(super) fn value<T: Debug>(
        &self,
        setting: &Setting<T>,
        code: Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        if let Some(value) = code {
            return checked(setting, value).map(Some);
        }
        match self.env(setting)? {
            Some(value) => Ok(Some(value)),
            None => setting.default_value(),
        }
    }

    /// A per-signal setting: the value set in code for the signal, else in code for every
    /// signal, else the signal's variable, else the general variable, else the general row's
    /// default (see [`otlp`](super::otlp) for why code comes first).
    pub(super) fn layered<T: Debug>(
        &self,
        settings: [&Setting<T>; 2],
        code: [Option<T>; 2],
    ) -> Result<Option<T>, ConfigError> {
        Ok(self.layered_from(settings, code)?.map(|(value, _)| value))
    }

    /// As [`Vars::layered`], with where the value came from: the builder method or the
    /// variable that set it (the general row's name for its default).
    pub(super) fn layered_from<T: Debug>(
        &self,
        [specific, general]: [&Setting<T>; 2],
        [code_specific, code_general]: [Option<T>; 2],
    ) -> Result<Option<(T, &'static str)>, ConfigError> {
        if let Some(value) = code_specific {
            return checked(specific, value).map(|v| Some((v, specific.var.builder)));
        }
        if let Some(value) = code_general {
            return checked(general, value).map(|v| Some((v, general.var.builder)));
        }
        if let Some(value) = self.env(specific)? {
            return Ok(Some((value, specific.name())));
        }
        Ok(self.value(general, None)?.map(|v| (v, general.name())))
    }

    /// As [`Vars::value`], for a row with a default.
    pub(super) fn get<T: Debug>(
        &self,
        setting: &Setting<T>,
        code: Option<T>,
    ) -> Result<T, ConfigError> {
        self.value(setting, code)?
            .ok_or_else(|| setting.invalid_env("", "a value (the settings table gives no default)"))
    }
}

impl ConfigBuilder {
    pub(super) fn resolve(self, vars: &Vars<'_>) -> Result<Config, ConfigError> {
        let code = &self.code;
        let environment = vars.get(&APP_ENV, code.environment)?;
        let Identity {
            service_name,
            service_version,
            resource_attributes,
        } = self.identity(vars)?;
        let slow_query = self.slow_query(vars, environment, &service_name)?;
        let log_format = match vars.value(&LOG_FORMAT, code.log_format)? {
            Some(format) => format,
            None => match environment {
                Environment::Development => LogFormat::Pretty,
                Environment::Production => LogFormat::Json,
            },
        };
        let otlp = self.otlp(vars)?;
        Ok(Config {
            sdk_disabled: vars.get(&OTEL_SDK_DISABLED, code.sdk_disabled)?,
            service_name,
            service_version,
            resource_attributes,
            environment,
            otlp,
            sampler: self.sampler(vars)?,
            traces_exporters: vars.get(&OTEL_TRACES_EXPORTER, code.traces_exporters)?,
            metrics_exporters: vars.get(&OTEL_METRICS_EXPORTER, code.metrics_exporters)?,
            logs_exporters: vars.get(&OTEL_LOGS_EXPORTER, code.logs_exporters)?,
            metric_export_interval: vars
                .get(&OTEL_METRIC_EXPORT_INTERVAL, code.metric_export_interval)?,
            metric_export_timeout: vars
                .get(&OTEL_METRIC_EXPORT_TIMEOUT, code.metric_export_timeout)?,
            metrics_temporality: vars.get(
                &OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
                code.metrics_temporality,
            )?,
            batch: self.span_batch(vars)?,
            log_batch: self.log_batch(vars)?,
            prometheus_enabled: vars
                .value(&PROMETHEUS_ENABLED, code.prometheus_enabled)?
                .unwrap_or(cfg!(feature = "prometheus")),
            metrics_path: vars.get(&METRICS_ENDPOINT, code.metrics_path.clone())?,
            metrics_addr: vars.value(&METRICS_ADDR, code.metrics_addr)?,
            metrics_bearer_token: self.bearer_token(vars)?,
            exemplars: vars.get(&OTELIX_EXEMPLARS, code.exemplars)?,
            log_format,
            log_filter: vars.get(&RUST_LOG, code.log_filter.clone())?,
            shutdown_timeout: vars.get(&OTELIX_SHUTDOWN_TIMEOUT, code.shutdown_timeout)?,
            slow_query,
        })
    }

    /// `service.name`, `service.version` and the other resource attributes: code wins over
    /// `OTEL_SERVICE_NAME`, which wins over `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
    /// which wins over a default service name given in code.
    fn identity(&self, vars: &Vars<'_>) -> Result<Identity, ConfigError> {
        let mut from_env = vars.env(&OTEL_RESOURCE_ATTRIBUTES)?.unwrap_or_default();
        let env_service_name = take_key(&mut from_env, "service.name");
        let env_service_version = take_key(&mut from_env, "service.version");
        let service_name = match self.code.service_name.clone() {
            Some(name) => vars.get(&OTEL_SERVICE_NAME, Some(name))?,
            None => match vars
                .env(&OTEL_SERVICE_NAME)?
                .or(env_service_name)
                .or_else(|| self.default_service_name.clone())
            {
                Some(name) => name,
                None => vars.get(&OTEL_SERVICE_NAME, None)?,
            },
        };
        let service_version = self.service_version.clone().or(env_service_version);
        // Attributes set in code win over the variable's with the same key.
        from_env.retain(|(k, _)| !self.resource_attributes.iter().any(|(ck, _)| ck == k));
        from_env.extend(self.resource_attributes.iter().cloned());
        Ok(Identity {
            service_name,
            service_version,
            resource_attributes: from_env,
        })
    }

    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, or the sampler set in code.
    fn sampler(&self, vars: &Vars<'_>) -> Result<SamplerKind, ConfigError> {
        if let Some(sampler) = self.sampler {
            if let Some(ratio) = sampler.ratio() {
                vars.get(&OTEL_TRACES_SAMPLER_ARG, Some(ratio))?;
            }
            return Ok(sampler);
        }
        let ratio = vars.get(&OTEL_TRACES_SAMPLER_ARG, None)?;
        Ok(vars.get(&OTEL_TRACES_SAMPLER, None)?.with_ratio(ratio))
    }

    fn span_batch(&self, vars: &Vars<'_>) -> Result<BatchSettings, ConfigError> {
        let code = &self.code;
        let batch = BatchSettings {
            schedule_delay: vars.get(&OTEL_BSP_SCHEDULE_DELAY, code.bsp_schedule_delay)?,
            export_timeout: vars.get(&OTEL_BSP_EXPORT_TIMEOUT, code.bsp_export_timeout)?,
            max_queue_size: vars.get(&OTEL_BSP_MAX_QUEUE_SIZE, code.bsp_max_queue_size)?,
            max_export_batch_size: vars.get(
                &OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
                code.bsp_max_export_batch_size,
            )?,
            max_concurrent_exports: vars.get(
                &OTEL_BSP_MAX_CONCURRENT_EXPORTS,
                code.bsp_max_concurrent_exports,
            )?,
        };
        batch_within_queue(
            batch,
            &OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
            &OTEL_BSP_MAX_QUEUE_SIZE,
        )
    }

    fn log_batch(&self, vars: &Vars<'_>) -> Result<BatchSettings, ConfigError> {
        let code = &self.code;
        let batch = BatchSettings {
            schedule_delay: vars.get(&OTEL_BLRP_SCHEDULE_DELAY, code.blrp_schedule_delay)?,
            export_timeout: vars.get(&OTEL_BLRP_EXPORT_TIMEOUT, code.blrp_export_timeout)?,
            max_queue_size: vars.get(&OTEL_BLRP_MAX_QUEUE_SIZE, code.blrp_max_queue_size)?,
            max_export_batch_size: vars.get(
                &OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
                code.blrp_max_export_batch_size,
            )?,
            // Log records are exported one request at a time, as the specification's
            // processor does.
            max_concurrent_exports: 1,
        };
        batch_within_queue(
            batch,
            &OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
            &OTEL_BLRP_MAX_QUEUE_SIZE,
        )
    }

    fn bearer_token(&self, vars: &Vars<'_>) -> Result<Option<Secret>, ConfigError> {
        let setting = &METRICS_BEARER_TOKEN;
        match &self.metrics_bearer_token {
            Some(token) => (setting.check)(token.clone())
                .map(Some)
                .map_err(|expected| setting.invalid_setting(&token.0, expected)),
            None => vars.env(setting),
        }
    }

    fn slow_query(
        &self,
        vars: &Vars<'_>,
        environment: Environment,
        service_name: &str,
    ) -> Result<SlowQuerySettings, ConfigError> {
        let code = &self.code;
        let threshold = vars.get(&SLOW_QUERY_THRESHOLD_SECONDS, code.slow_query_threshold)?;
        let critical = vars.get(&SLOW_QUERY_CRITICAL_SECONDS, code.slow_query_critical)?;
        if critical < threshold {
            let shown = critical.as_secs_f64().to_string();
            let expected = format!(
                "at least {} ({})",
                SLOW_QUERY_THRESHOLD_SECONDS.name(),
                threshold.as_secs_f64()
            );
            return Err(match code.slow_query_critical {
                Some(_) => SLOW_QUERY_CRITICAL_SECONDS.invalid_setting(&shown, expected),
                None => SLOW_QUERY_CRITICAL_SECONDS.invalid_env(&shown, expected),
            });
        }
        let log_file = vars
            .value(&SLOW_QUERY_LOG_FILE, code.slow_query_log_file.clone())?
            .unwrap_or_else(|| default_slow_query_log(environment, service_name));
        Ok(SlowQuerySettings {
            threshold,
            critical,
            log_file,
            max_bytes: vars.get(&SLOW_QUERY_LOG_MAX_BYTES, code.slow_query_log_max_bytes)?,
            backups: vars.get(&SLOW_QUERY_LOG_BACKUPS, code.slow_query_log_backups)?,
            n_plus_one_threshold: vars.get(&N_PLUS_ONE_THRESHOLD, code.n_plus_one_threshold)?,
            ..SlowQuerySettings::default()
        })
    }
}

/// Who the service is: `service.name`, `service.version` and the other resource attributes.
struct Identity {
    service_name: String,
    service_version: Option<String>,
    resource_attributes: Vec<(String, String)>,
}

/// A value set in code, checked by its row.
fn checked<T: Debug>(setting: &Setting<T>, value: T) -> Result<T, ConfigError> {
    let shown = format!("{value:?}");
    (setting.check)(value)
        .map_err(|expected| setting.invalid_setting(shown.trim_matches('"'), expected))
}

/// The specification requires batch <= queue; say so rather than clamping silently.
fn batch_within_queue(
    batch: BatchSettings,
    batch_size: &Setting<usize>,
    queue_size: &Setting<usize>,
) -> Result<BatchSettings, ConfigError> {
    if batch.max_export_batch_size > batch.max_queue_size {
        return Err(batch_size.invalid_env(
            &batch.max_export_batch_size.to_string(),
            format!("at most {} ({})", queue_size.name(), batch.max_queue_size),
        ));
    }
    Ok(batch)
}

/// The slow-query log in development.
pub(super) fn development_slow_query_log() -> PathBuf {
    PathBuf::from("./logs/slow_queries.log")
}

/// `./logs/slow_queries.log` in development, `/var/log/<service>/slow_queries.log` in
/// production.
fn default_slow_query_log(environment: Environment, service_name: &str) -> PathBuf {
    match environment {
        Environment::Development => development_slow_query_log(),
        Environment::Production => {
            // A service name is free text; keep the directory name tame.
            let dir: String = service_name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            PathBuf::from(format!("/var/log/{dir}/slow_queries.log"))
        }
    }
}

fn take_key(pairs: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let pos = pairs.iter().rposition(|(k, _)| k == key)?;
    let (_, value) = pairs.remove(pos);
    pairs.retain(|(k, _)| k != key);
    Some(value)
}
