//! actix-web instrumentation for otelix.
