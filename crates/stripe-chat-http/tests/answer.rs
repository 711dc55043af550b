//! The shared reader: an answer costs at most its cap, whatever its size.

use stripe_chat_conformance::{CountingProxy, HUGE_ANSWER_BYTES, MAX_READ_OF_HUGE_ANSWER};
use stripe_chat_http::{Answer, MAX_ANSWER_BYTES};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn platform(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_costs_at_most_the_cap() {
    let server = platform(
        ResponseTemplate::new(200).set_body_raw(vec![b'x'; HUGE_ANSWER_BYTES], "text/plain"),
    )
    .await;
    let proxy = CountingProxy::start(*server.address()).await.unwrap();
    let client = stripe_chat_http::client(std::time::Duration::from_secs(10)).unwrap();
    let response = client.get(proxy.uri()).send().await.unwrap();

    let answer = Answer::read(response, MAX_ANSWER_BYTES).await;

    assert_eq!(answer.status(), 200);
    assert_eq!(answer.body().len(), MAX_ANSWER_BYTES);
    assert!(!answer.is_complete());
    let read = proxy.bytes_to_client();
    assert!(
        read <= MAX_READ_OF_HUGE_ANSWER,
        "{read} bytes of a {HUGE_ANSWER_BYTES}-byte answer were read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_within_the_cap_is_read_whole() {
    let server = platform(
        ResponseTemplate::new(400)
            .set_body_raw(r#"{"error":"invalid_blocks"}"#, "application/json"),
    )
    .await;
    let response = reqwest::get(server.uri()).await.unwrap();
    let answer = Answer::read(response, MAX_ANSWER_BYTES).await;
    assert!(!answer.is_success());
    assert!(answer.is_complete());
    let json: serde_json::Value = answer.json().unwrap();
    assert_eq!(json["error"], "invalid_blocks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_exactly_the_cap_is_complete() {
    let server =
        platform(ResponseTemplate::new(200).set_body_raw(vec![b'x'; 1000], "text/plain")).await;
    let response = reqwest::get(server.uri()).await.unwrap();
    let answer = Answer::read(response, 1000).await;
    assert_eq!(answer.body().len(), 1000);
    assert!(answer.is_complete());
}
