//! The resource every signal carries: service name, version, environment and the user's
//! attributes.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::attribute as semattr;

use crate::config::Config;

pub(super) fn resource(config: &Config) -> Resource {
    let mut attributes: Vec<KeyValue> = config
        .resource_attributes()
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    // APP_ENV and the service version fill in what OTEL_RESOURCE_ATTRIBUTES (or the builder's
    // resource attributes) left out; a value the user gave there wins.
    let given = |key: &str| attributes.iter().any(|kv| kv.key.as_str() == key);
    let environment = (!given(semattr::DEPLOYMENT_ENVIRONMENT_NAME)).then(|| {
        KeyValue::new(
            semattr::DEPLOYMENT_ENVIRONMENT_NAME,
            config.environment().as_str(),
        )
    });
    let version = config
        .service_version()
        .filter(|_| !given(semattr::SERVICE_VERSION))
        .map(|version| KeyValue::new(semattr::SERVICE_VERSION, version.to_owned()));
    attributes.extend(environment.into_iter().chain(version));
    Resource::builder_empty()
        .with_attributes(attributes)
        .with_service_name(config.service_name().to_owned())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_value(resource: &Resource, key: &'static str) -> Option<String> {
        resource
            .get(&opentelemetry::Key::from_static_str(key))
            .map(|v| v.to_string())
    }

    #[test]
    fn resource_attributes_given_by_the_user_win_over_app_env() {
        let config = Config::builder()
            .build_from_vars([
                ("APP_ENV", "production"),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment.name=compose,service.version=9.9.9",
                ),
            ])
            .expect("valid variables");
        let given = resource(&config);
        assert_eq!(
            resource_value(&given, semattr::DEPLOYMENT_ENVIRONMENT_NAME).as_deref(),
            Some("compose")
        );
        assert_eq!(
            resource_value(&given, semattr::SERVICE_VERSION).as_deref(),
            Some("9.9.9")
        );
        let config = Config::builder()
            .build_from_vars([("APP_ENV", "production")])
            .expect("valid variables");
        assert_eq!(
            resource_value(&resource(&config), semattr::DEPLOYMENT_ENVIRONMENT_NAME).as_deref(),
            Some("production")
        );
    }
}
