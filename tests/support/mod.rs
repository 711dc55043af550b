//! What the end-to-end tests of the `stripe-chat` binary share: starting `serve` on a
//! configuration, signing events, reading its metrics, its memory and its log.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stripe_chat::events::sign;

/// The webhook signing secret of [`config`].
pub const SECRET: &str = "whsec_e2e_support";

/// A configuration with `server` as the rest of its `[server]` section, its store and a `file`
/// destination `out` (every event routed to it) under `dir/data`.
pub fn config(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join("stripe-chat.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nshutdown_grace_secs = 2\n{server}\n[stripe]\nwebhook_secrets = [\"{SECRET}\"]\n[store]\nsqlite = {:?}\n[[destinations]]\nname = \"out\"\nprovider = \"file\"\npath = {:?}\n[[routes]]\nevents = [\"*\"]\nto = [\"out\"]\n",
            dir.join("data/stripe-chat.db").display().to_string(),
            dir.join("data/messages.jsonl").display().to_string(),
        ),
    )
    .expect("config");
    path
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A payment event with the id `evt_{tag}` about `pi_{tag}`, as Stripe sends it.
pub fn payment_event(tag: &str) -> String {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/payment_intent.succeeded@2026-09-30.endive.json");
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture")).expect("json");
    event["id"] = format!("evt_{tag}").into();
    event["data"]["object"]["id"] = format!("pi_{tag}").into();
    event.to_string()
}

/// Posts `body` signed with [`SECRET`]; the status, or the error.
pub async fn post_signed(client: &reqwest::Client, url: &str, body: &str) -> Result<u16, String> {
    client
        .post(url)
        .header("Stripe-Signature", sign(body.as_bytes(), SECRET, now()))
        .body(body.to_owned())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

/// `stripe-chat serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `stripe-chat serve --config CONFIG` logging JSON lines at `info` into
    /// `server.log` beside the configuration, and waits for its address.
    pub fn start(config: &Path) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stripe-chat"));
        command
            .args(["serve", "--log-format", "json", "--config"])
            .arg(config);
        Server::spawn(command, config)
    }

    /// Like [`Server::start`], with the process's umask set to `umask` (octal) first.
    pub fn start_with_umask(config: &Path, umask: &str) -> Server {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_stripe-chat"))
            .args(["serve", "--log-format", "json", "--config"])
            .arg(config);
        Server::spawn(command, config)
    }

    fn spawn(mut command: Command, config: &Path) -> Server {
        let log = config.with_file_name("server.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = command
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        std::thread::spawn(move || for _ in lines {});
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| {
                panic!(
                    "no address in {first:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_owned();
        Server { child, addr, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Its resident set size, in bytes.
    pub fn rss(&self) -> u64 {
        rss(self.child.id())
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `deadline` for the process to exit.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + deadline;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Its log, one JSON value per line (a line that is not JSON as `{"raw": line}`).
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| serde_json::json!({ "raw": l })))
            .collect()
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }
}

/// The value of the series that starts with `series` (name and labels, then a space).
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
}

/// The resident set size of process `pid` (`VmRSS` in `/proc/PID/status`), in bytes.
pub fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Whether a new TCP connection to `addr` is refused.
pub fn refuses_connections(addr: &str) -> bool {
    let addr: std::net::SocketAddr = addr.parse().expect("address");
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
}
