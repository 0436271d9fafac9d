//! `METRICS_ADDR` and `METRICS_BEARER_TOKEN`: the metrics endpoints on a listener of their own,
//! behind a bearer token, while the API's listener no longer serves them.

mod common;

use std::net::SocketAddr;

use common::{free_port, Backends};

const TOKEN: &str = "scrape-token-5f0c9a1e7d2b";

#[actix_web::test]
async fn metrics_on_their_own_listener_behind_a_token() {
    let metrics_addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let app = common::start(Backends::Embedded, &[], |config| {
        config
            .with_app_env(otelix::Environment::Development)
            .with_metrics_addr(metrics_addr)
            .with_metrics_bearer_token(TOKEN)
    })
    .await
    .expect("embedded backends");
    assert_eq!(app.get("/api/members/1").await.status, 200);

    // The API's listener: no metrics there.
    assert_eq!(app.get("/metrics").await.status, 404);
    assert_eq!(app.get("/metrics/summary").await.status, 404);

    let metrics = format!("http://{metrics_addr}");
    let client = common::http_client();
    for path in ["/metrics", "/metrics/summary"] {
        let refused = client.get(format!("{metrics}{path}")).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{path}");
        let wrong = client
            .get(format!("{metrics}{path}"))
            .bearer_auth("not-the-token-at-all")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let allowed = client
            .get(format!("{metrics}{path}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), 200, "{path}");
        let body = allowed.text().await.unwrap();
        assert!(body.contains("/api/members/{id}"), "{path}: {body}");
    }
    // Graceful shutdown stops the metrics listener too.
    app.stop().await;
    assert!(
        client
            .get(format!("{metrics}/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .is_err(),
        "the metrics listener is closed after shutdown"
    );
}
