//! The comparison table: reports of several runs (the `--json` lines of `load`) side by side, with
//! ratios against the baselines and the service's targets checked.

use std::fmt::Write as _;

use crate::load::Report;

/// The targets a receiver is held to (2-core machine, 64 connections, ~5 KB events).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Targets {
    /// Closed loop: at least this many durably acknowledged events per second.
    pub(crate) min_acks_per_s: f64,
    /// Closed loop: p99 ack latency at most this, in ms.
    pub(crate) max_closed_p99_ms: f64,
    /// Open loop: p99 ack latency at most this, in ms.
    pub(crate) max_open_p99_ms: f64,
    /// Peak resident set size at most this many bytes.
    pub(crate) max_rss_bytes: u64,
}

impl Targets {
    /// The targets of the stripe-chat service.
    pub(crate) const SERVICE: Targets = Targets {
        min_acks_per_s: 10_000.0,
        max_closed_p99_ms: 15.0,
        max_open_p99_ms: 3.0,
        max_rss_bytes: 100_000_000,
    };
}

/// Reads reports from the text of `--json` output files: one JSON object per line, anything else
/// is skipped.
pub(crate) fn parse_reports(text: &str) -> Vec<Report> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn peak_rss_kib(r: &Report) -> Option<u64> {
    r.rss
        .map(|rss| rss.peak_vmrss_kib.max(rss.vmhwm_kib.unwrap_or(0)))
}

fn load_name(r: &Report) -> String {
    match r.rate {
        Some(rate) => format!("open {rate}/s, {} conns", r.connections),
        None => format!("closed, {} conns", r.connections),
    }
}

fn same_load(a: &Report, b: &Report) -> bool {
    a.mode == b.mode && a.rate == b.rate && a.connections == b.connections
}

fn p99(r: &Report) -> Option<f64> {
    r.latency_ms.as_ref().map(|p| p.p99)
}

fn failures(r: &Report) -> String {
    let mut parts: Vec<String> = r
        .non_2xx
        .iter()
        .map(|(status, n)| format!("{status}×{n}"))
        .collect();
    parts.extend(r.errors.iter().map(|(e, n)| format!("{e}×{n}")));
    if parts.is_empty() {
        "0".to_owned()
    } else {
        parts.join(", ")
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".to_owned(),
    }
}

/// A Markdown table of `reports`, with a column of ratios per baseline label.
pub(crate) fn markdown(reports: &[Report], baselines: &[String]) -> String {
    let mut out = String::new();
    out.push_str(
        "| receiver | load | acks/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | non-2xx / errors | peak RSS MiB | CPU cores: receiver + generator (+ others) |",
    );
    for b in baselines {
        let _ = write!(out, " vs {b}: acks/s, p99 |");
    }
    out.push('\n');
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|---|--:|---|");
    for _ in baselines {
        out.push_str("---|");
    }
    out.push('\n');
    let ms = |r: &Report, f: fn(&crate::load::Percentiles) -> f64| {
        r.latency_ms
            .as_ref()
            .map_or_else(|| "–".to_owned(), |p| format!("{:.2}", f(p)))
    };
    let cores = |c: Option<f64>| c.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}"));
    for r in reports {
        let _ = write!(
            out,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} + {} (+ {}) |",
            r.label,
            load_name(r),
            r.acks_per_s,
            ms(r, |p| p.p50),
            ms(r, |p| p.p90),
            ms(r, |p| p.p99),
            ms(r, |p| p.p999),
            ms(r, |p| p.max),
            failures(r),
            peak_rss_kib(r).map_or_else(|| "–".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
            cores(r.cpu.target_cores),
            cores(r.cpu.generator_cores),
            cores(r.cpu.other_cores),
        );
        for b in baselines {
            let base = reports
                .iter()
                .find(|other| &other.label == b && same_load(other, r));
            let cell = match base {
                Some(base) if base.label != r.label => {
                    let acks = if r.rate.is_some() {
                        "–".to_owned()
                    } else {
                        ratio(Some(r.acks_per_s), Some(base.acks_per_s))
                    };
                    format!("{acks}, {}", ratio(p99(r), p99(base)))
                }
                Some(_) => "1 (baseline)".to_owned(),
                None => "–".to_owned(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

/// Checks every report labelled `label` against `targets`; one line per check.
pub(crate) fn check(reports: &[Report], label: &str, targets: Targets) -> (String, bool) {
    let mut out = String::new();
    let mut all = true;
    let mut line = |ok: bool, text: String| {
        all &= ok;
        let _ = writeln!(out, "- {}: {text}", if ok { "PASS" } else { "FAIL" });
    };
    let mine: Vec<&Report> = reports.iter().filter(|r| r.label == label).collect();
    if mine.is_empty() {
        line(false, format!("no run of {label}"));
    }
    for r in mine {
        let load = load_name(r);
        let clean = r.non_2xx.is_empty() && r.errors.is_empty();
        line(
            clean,
            format!("{label}, {load}: non-2xx / errors {}", failures(r)),
        );
        let p99 = p99(r).unwrap_or(f64::INFINITY);
        match r.rate {
            None => {
                line(
                    r.acks_per_s >= targets.min_acks_per_s,
                    format!(
                        "{label}, {load}: {:.0} acks/s (target ≥ {:.0})",
                        r.acks_per_s, targets.min_acks_per_s
                    ),
                );
                line(
                    p99 <= targets.max_closed_p99_ms,
                    format!(
                        "{label}, {load}: p99 {p99:.2} ms (target ≤ {} ms)",
                        targets.max_closed_p99_ms
                    ),
                );
            }
            Some(_) => line(
                p99 <= targets.max_open_p99_ms,
                format!(
                    "{label}, {load}: p99 {p99:.2} ms (target ≤ {} ms)",
                    targets.max_open_p99_ms
                ),
            ),
        }
        match peak_rss_kib(r) {
            Some(kib) => line(
                kib * 1024 <= targets.max_rss_bytes,
                format!(
                    "{label}, {load}: peak RSS {:.1} MB (target ≤ {} MB)",
                    (kib * 1024) as f64 / 1e6,
                    targets.max_rss_bytes / 1_000_000
                ),
            ),
            None => line(false, format!("{label}, {load}: RSS not sampled (--pid)")),
        }
    }
    (out, all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(label: &str, rate: Option<f64>, acks: f64, p99: f64, rss_kib: u64) -> String {
        serde_json::json!({
            "label": label, "url": "http://127.0.0.1:1/webhooks/stripe",
            "mode": if rate.is_some() { "open" } else { "closed" },
            "connections": 64, "rate": rate, "warmup_s": 2.0, "duration_s": 20.0, "window_s": 20.0,
            "event_bytes": 5000, "requests": 100, "ok_2xx": 100, "requests_total": 110,
            "ok_2xx_total": 110, "non_2xx": {}, "errors": {}, "acks_per_s": acks,
            "latency_ms": {"p50": 1.0, "p90": 2.0, "p99": p99, "p999": 20.0, "max": 30.0, "mean": 1.5},
            "service_ms": null,
            "rss": {"peak_vmrss_kib": rss_kib, "vmhwm_kib": rss_kib},
            "cpu": {"target_cores": 1.0, "generator_cores": 0.5}
        })
        .to_string()
    }

    #[test]
    fn ratios_compare_runs_of_the_same_load() {
        let text = [
            "some human line".to_owned(),
            report("express", None, 2000.0, 40.0, 60_000),
            report("svc", None, 10_000.0, 10.0, 30_000),
            report("svc", Some(1000.0), 1000.0, 2.0, 30_000),
            report("express", Some(1000.0), 1000.0, 4.0, 60_000),
        ]
        .join("\n");
        let reports = parse_reports(&text);
        assert_eq!(reports.len(), 4);
        let table = markdown(&reports, &["express".to_owned()]);
        let svc_closed = table
            .lines()
            .find(|l| l.starts_with("| svc | closed"))
            .unwrap();
        assert!(svc_closed.ends_with(" 5.00×, 0.25× |"), "{svc_closed}");
        let svc_open = table
            .lines()
            .find(|l| l.starts_with("| svc | open"))
            .unwrap();
        assert!(svc_open.ends_with(" –, 0.50× |"), "{svc_open}");

        let (text, ok) = check(&reports, "svc", Targets::SERVICE);
        assert!(ok, "{text}");
        let (text, ok) = check(&reports, "express", Targets::SERVICE);
        assert!(!ok);
        assert!(text.contains("FAIL: express, closed, 64 conns: 2000 acks/s"));
    }
}
