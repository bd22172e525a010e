//! Lock-free counters of the workload and their Prometheus text rendering.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Counters and gauges; every field is updated with relaxed atomics.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    ok: AtomicU64,
    rejected: AtomicU64,
    waiting: AtomicU64,
    in_service: AtomicU64,
    busy_ns: AtomicU64,
    service_ns: AtomicU64,
    wait_ns: AtomicU64,
}

impl Metrics {
    /// Takes a waiting place if fewer than `limit` requests wait (`None`: unbounded).
    pub(crate) fn try_enqueue(&self, limit: Option<u32>) -> bool {
        match limit {
            None => {
                self.waiting.fetch_add(1, Relaxed);
                true
            }
            Some(limit) => self
                .waiting
                .fetch_update(Relaxed, Relaxed, |w| {
                    (w < u64::from(limit)).then_some(w + 1)
                })
                .is_ok(),
        }
    }

    /// Gives a waiting place back.
    pub(crate) fn dequeue(&self) {
        self.waiting.fetch_sub(1, Relaxed);
    }

    /// A request took a slot.
    pub(crate) fn start_service(&self) {
        self.in_service.fetch_add(1, Relaxed);
    }

    /// A request left its slot after `work` (drawn), `service` (measured in
    /// the slot) and `wait` (measured before it).
    pub(crate) fn finish_service(&self, work: Duration, service: Duration, wait: Duration) {
        self.in_service.fetch_sub(1, Relaxed);
        self.busy_ns.fetch_add(nanos(work), Relaxed);
        self.service_ns.fetch_add(nanos(service), Relaxed);
        self.wait_ns.fetch_add(nanos(wait), Relaxed);
        self.ok.fetch_add(1, Relaxed);
    }

    /// A request was answered 503 because the queue was full.
    pub(crate) fn reject(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub(crate) fn render(&self, concurrency: u32) -> String {
        let ok = self.ok.load(Relaxed);
        let waiting = self.waiting.load(Relaxed);
        let in_service = self.in_service.load(Relaxed);
        let mut out = String::with_capacity(2048);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (suffix, value) in samples {
                let _ = writeln!(out, "{name}{suffix} {value}");
            }
        };
        family(
            "orkestra_requests_total",
            "counter",
            "Work requests answered, by outcome (ok: served; rejected: 503, queue full).",
            &[
                (r#"{outcome="ok"}"#, ok.to_string()),
                (
                    r#"{outcome="rejected"}"#,
                    self.rejected.load(Relaxed).to_string(),
                ),
            ],
        );
        family(
            "orkestra_in_flight",
            "gauge",
            "Work requests in this workload: in service plus waiting.",
            &[("", (in_service + waiting).to_string())],
        );
        family(
            "orkestra_in_service",
            "gauge",
            "Work requests holding one of the concurrency slots.",
            &[("", in_service.to_string())],
        );
        family(
            "orkestra_queue_length",
            "gauge",
            "Work requests waiting for a slot.",
            &[("", waiting.to_string())],
        );
        family(
            "orkestra_concurrency",
            "gauge",
            "Slots: work requests served at once.",
            &[("", concurrency.to_string())],
        );
        family(
            "orkestra_busy_seconds_total",
            "counter",
            "Sum of the drawn work durations of finished requests.",
            &[("", secs(self.busy_ns.load(Relaxed)))],
        );
        family(
            "orkestra_service_seconds",
            "summary",
            "Measured time from taking a slot to finishing the work.",
            &[
                ("_sum", secs(self.service_ns.load(Relaxed))),
                ("_count", ok.to_string()),
            ],
        );
        family(
            "orkestra_queue_wait_seconds",
            "summary",
            "Measured time from arrival to taking a slot.",
            &[
                ("_sum", secs(self.wait_ns.load(Relaxed))),
                ("_count", ok.to_string()),
            ],
        );
        out
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Nanoseconds as decimal seconds, shortest round-trip formatting.
fn secs(ns: u64) -> String {
    (ns as f64 / 1e9).to_string()
}
