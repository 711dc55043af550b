//! Per-event cost of the whole pipeline: verify the signature, parse, transform, redact, render.
//!
//! Run with `cargo bench --bench pipeline`. Figures are kept in `docs/performance.md`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

// The allocator of the `stripe-chat` binary, so the figures are those of the service.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use stripe_chat::events::{StripeEvent, WebhookVerifier, sign};
use stripe_chat::{Pipeline, RenderConfig, renderer};

const SECRET: &str = "whsec_bench";
const NOW: i64 = 1_790_000_000;

const EVENTS: &[(&str, &str)] = &[
    (
        "invoice.payment_failed",
        include_str!("../tests/fixtures/events/invoice.payment_failed@2026-09-30.endive.json"),
    ),
    (
        "charge.dispute.created",
        include_str!("../tests/fixtures/events/charge.dispute.created@2026-09-30.endive.json"),
    ),
    (
        "invoice.paid",
        include_str!("../tests/fixtures/events/invoice.paid@2024-06-20.json"),
    ),
    (
        "customer.updated",
        include_str!("../tests/fixtures/events/customer.updated@2026-09-30.endive.json"),
    ),
    (
        "hostile+120-lines",
        include_str!("../tests/fixtures/events/hostile+120-lines@2026-09-30.endive.json"),
    ),
];

fn whole_pipeline(c: &mut Criterion) {
    let verifier = WebhookVerifier::new(["whsec_old", SECRET]);
    let config = RenderConfig::default();
    let pipeline = Pipeline::from_config(&config.redaction);
    let mut group = c.benchmark_group("verify+parse+transform+redact+render");
    group.throughput(Throughput::Elements(1));
    for (name, raw) in EVENTS {
        let header = sign(raw.as_bytes(), SECRET, NOW);
        for provider in stripe_chat::providers().names() {
            let render = renderer(provider, &config).expect("default options are valid");
            group.bench_with_input(BenchmarkId::new(*name, provider), raw, |b, raw| {
                b.iter(|| {
                    verifier
                        .verify_at(raw.as_bytes(), Some(&header), NOW)
                        .expect("valid signature");
                    let event = StripeEvent::from_slice(raw.as_bytes()).expect("valid event");
                    let message = pipeline.message(&event);
                    black_box(message.map(|m| render.render(&m).expect("renders")))
                })
            });
        }
    }
    group.finish();
}

fn stages(c: &mut Criterion) {
    let (_, raw) = EVENTS[0];
    let verifier = WebhookVerifier::new([SECRET]);
    let header = sign(raw.as_bytes(), SECRET, NOW);
    let config = RenderConfig::default();
    let pipeline = Pipeline::from_config(&config.redaction);
    let event = StripeEvent::from_slice(raw.as_bytes()).expect("valid event");
    let message = pipeline.message(&event).expect("a message");
    let slack = renderer("slack", &config).expect("valid");
    let mut group = c.benchmark_group("stages/invoice.payment_failed");
    group.bench_function("verify", |b| {
        b.iter(|| verifier.verify_at(raw.as_bytes(), Some(&header), NOW))
    });
    group.bench_function("parse", |b| {
        b.iter(|| StripeEvent::from_slice(black_box(raw.as_bytes())))
    });
    group.bench_function("transform+redact", |b| {
        b.iter(|| pipeline.message(black_box(&event)))
    });
    group.bench_function("render slack", |b| {
        b.iter(|| slack.render(black_box(&message)))
    });
    group.finish();
}

criterion_group!(benches, whole_pipeline, stages);
criterion_main!(benches);
