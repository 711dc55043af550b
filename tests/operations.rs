//! What an operator's tooling sees of `stripe-chat serve`, on the real binary: readiness during a
//! drain, and the metrics alerts are written against.

mod support;

use std::time::{Duration, Instant};

use support::{Server, metric, post_signed, refuses_connections};

async fn get(client: &reqwest::Client, url: &str) -> Option<(u16, String)> {
    let response = client.get(url).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_as_soon_as_sigterm_starts_the_drain_and_webhooks_are_served_until_the_listener_closes()
 {
    const DRAIN_DELAY: Duration = Duration::from_secs(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = support::config(
        dir.path(),
        &format!("drain_delay_secs = {}", DRAIN_DELAY.as_secs()),
    );
    let mut server = Server::start(&config);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    assert_eq!(
        get(&client, &server.url("/readyz")).await,
        Some((200, "ready\n".to_owned()))
    );

    let signalled = Instant::now();
    server.sigterm();
    let mut readiness = None;
    while signalled.elapsed() < Duration::from_secs(2) {
        readiness = get(&client, &server.url("/readyz")).await;
        if readiness.as_ref().is_some_and(|(status, _)| *status == 503) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let not_ready_after = signalled.elapsed();
    assert_eq!(
        readiness,
        Some((503, "draining\n".to_owned())),
        "log: {:?}",
        server.log_lines()
    );
    assert!(
        not_ready_after < Duration::from_secs(1),
        "not ready {not_ready_after:?} after SIGTERM"
    );

    // Still serving while load balancers take it out of rotation.
    let event = support::payment_event("drain_1");
    assert_eq!(
        post_signed(&client, &server.url("/webhooks/stripe"), &event).await,
        Ok(200),
        "a webhook during the drain delay is acknowledged"
    );
    assert_eq!(
        get(&client, &server.url("/healthz")).await.map(|(s, _)| s),
        Some(200)
    );
    assert!(
        signalled.elapsed() < DRAIN_DELAY,
        "the checks above ran within the drain delay"
    );

    while !refuses_connections(&server.addr) && signalled.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed_after = signalled.elapsed();
    assert!(
        closed_after >= DRAIN_DELAY && closed_after < DRAIN_DELAY + Duration::from_secs(2),
        "the listener closed {closed_after:?} after SIGTERM (drain delay {DRAIN_DELAY:?})"
    );
    let status = server.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_every_destination_from_the_start_and_its_last_success_after_a_delivery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&support::config(dir.path(), ""));
    let text = server.metrics().await;
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        metric(
            &text,
            &format!("stripe_chat_build_info{{version=\"{version}\"}} ")
        ),
        Some(1.0),
        "{text}"
    );
    for outcome in ["delivered", "retried", "rate_limited", "dead_lettered"] {
        let series =
            format!("stripe_chat_deliveries_total{{destination=\"out\",outcome=\"{outcome}\"}} ");
        assert_eq!(metric(&text, &series), Some(0.0), "{series}");
    }
    let last_success = r#"stripe_chat_destination_last_success_seconds{destination="out"} "#;
    assert_eq!(metric(&text, last_success), Some(0.0));
    assert_eq!(
        metric(
            &text,
            r#"stripe_chat_destination_oldest_queued_seconds{destination="out"} "#
        ),
        Some(0.0)
    );

    let before = support::now() as f64;
    let client = reqwest::Client::new();
    let event = support::payment_event("metrics_1");
    assert_eq!(
        post_signed(&client, &server.url("/webhooks/stripe"), &event).await,
        Ok(200)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = server.metrics().await;
    while metric(
        &text,
        r#"stripe_chat_deliveries_total{destination="out",outcome="delivered"} "#,
    ) != Some(1.0)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        text = server.metrics().await;
    }
    let at = metric(&text, last_success).unwrap_or_default();
    assert!(
        at >= before && at <= support::now() as f64,
        "last success at {at}, event posted at {before}: {text}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_holding_payment_data_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("state/store/stripe-chat.db");
    let messages = dir.path().join("out/audit/messages.jsonl");
    let config = dir.path().join("stripe-chat.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[stripe]\nwebhook_secrets = [\"{}\"]\n[store]\nsqlite = {:?}\n[[destinations]]\nname = \"out\"\nprovider = \"file\"\npath = {:?}\n[[routes]]\nto = [\"out\"]\n",
            support::SECRET,
            store.display().to_string(),
            messages.display().to_string()
        ),
    )
    .expect("config");
    let server = Server::start_with_umask(&config, "000");
    let client = reqwest::Client::new();
    let event = support::payment_event("private_1");
    assert_eq!(
        post_signed(&client, &server.url("/webhooks/stripe"), &event).await,
        Ok(200)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !messages.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for file in [
        store.clone(),
        store.with_file_name("stripe-chat.db-wal"),
        store.with_file_name("stripe-chat.db-shm"),
        messages.clone(),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    for folder in [
        dir.path().join("state"),
        dir.path().join("state/store"),
        dir.path().join("out"),
        dir.path().join("out/audit"),
    ] {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }
}

/// The `stripe_chat_*` metric names `text` mentions (histogram series reduced to their name).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("stripe_chat_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .map_or(name.clone(), str::to_owned);
        names.insert(name);
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_alert_rules_and_the_dashboard_use_is_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&support::config(dir.path(), ""));
    let served = metric_names(&server.metrics().await);
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    for file in ["prometheus/alerts.yml", "grafana/stripe-chat.json"] {
        let text = std::fs::read_to_string(deploy.join(file)).expect(file);
        let used = metric_names(&text);
        assert!(!used.is_empty(), "{file} uses stripe-chat's metrics");
        let missing: Vec<&String> = used.difference(&served).collect();
        assert!(
            missing.is_empty(),
            "{file} uses {missing:?}, which /metrics does not serve"
        );
    }
}
