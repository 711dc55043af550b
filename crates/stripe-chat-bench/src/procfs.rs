//! Memory and CPU of a process, read from `/proc` (Linux).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// A `Vm*` line of `/proc/PID/status`, in KiB.
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Bytes process `pid` has caused to be written to storage so far (`write_bytes` of
/// `/proc/PID/io`: what reaches the disk, not what stays in the page cache and is overwritten).
pub(crate) fn written_bytes(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes:")?.trim().parse().ok())
}

/// User + system CPU time consumed so far by process `pid` (all its threads), in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; the fields follow the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// CPU time all processes of the machine have been busy so far, in seconds (the `cpu` line of
/// `/proc/stat`: everything but idle and iowait).
pub(crate) fn system_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    let busy: f64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    Some(busy / TICKS_PER_SECOND)
}

/// Samples a process's resident set size in the background until stopped.
#[derive(Debug)]
pub(crate) struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
    pid: u32,
}

/// What [`RssSampler::finish`] found, in KiB.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct RssReport {
    /// The largest `VmRSS` sampled while the load ran.
    pub(crate) peak_vmrss_kib: u64,
    /// `VmHWM` at the end: the peak since the process started, as the kernel saw it.
    pub(crate) vmhwm_kib: Option<u64>,
}

impl RssSampler {
    /// Starts sampling `/proc/PID/status` every `every`.
    pub(crate) fn start(pid: u32, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                if let Some(rss) = status_kib(pid, "VmRSS") {
                    peak = peak.max(rss);
                }
                std::thread::sleep(every);
            }
            if let Some(rss) = status_kib(pid, "VmRSS") {
                peak = peak.max(rss);
            }
            peak
        });
        RssSampler { stop, handle, pid }
    }

    /// Stops sampling and reports the peaks.
    pub(crate) fn finish(self) -> RssReport {
        self.stop.store(true, Ordering::Relaxed);
        let peak = self.handle.join().unwrap_or(0);
        RssReport {
            peak_vmrss_kib: peak,
            vmhwm_kib: status_kib(self.pid, "VmHWM"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(status_kib(pid, "VmRSS").unwrap() > 0);
        assert!(status_kib(pid, "VmHWM").unwrap() > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        assert!(system_busy_seconds().unwrap() > 0.0);
        let written = written_bytes(pid).expect("/proc/self/io has write_bytes");
        assert!(
            written_bytes(pid).unwrap() >= written,
            "a count that only grows"
        );
        let sampler = RssSampler::start(pid, Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(20));
        let report = sampler.finish();
        assert!(report.peak_vmrss_kib > 0);
    }
}
