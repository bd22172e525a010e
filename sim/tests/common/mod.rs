//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io;

use orkestra_core::results::{Output, Summary};
use orkestra_core::scenario::{self, Files, Scenario};
use orkestra_core::testing::NoFiles;
use orkestra_simulator::Simulation;

/// A queueing model as a scenario: `replicas` replicas of `concurrency`
/// slots, exponential service with mean 1 ms (μ = 1000/s per slot), Poisson
/// arrivals at utilisation `rho` (λ = rho × replicas × concurrency × μ),
/// long enough for about `requests` arrivals.
pub fn queueing_scenario(
    replicas: u32,
    concurrency: u32,
    rho: f64,
    requests: u64,
    balancer: &str,
    seed: u64,
) -> Scenario {
    let mu = 1000.0;
    let lambda = rho * f64::from(replicas * concurrency) * mu;
    let duration_ms = (requests as f64 / lambda * 1000.0).ceil() as u64;
    let text = format!(
        r#"
name = "queueing"
[simulation]
duration = "{duration_ms}ms"
sampleInterval = "1000s"
[pools.p]
count = {replicas}
cpu = "1"
memory = "1Gi"
[services.s]
replicas = {replicas}
concurrency = {concurrency}
balancer = "{balancer}"
requests = {{ cpu = "1", memory = "1Gi" }}
serviceTime = {{ dist = "exponential", mean = "1ms" }}
[services.s.traffic]
model = "constant"
rate = {lambda}
"#
    );
    scenario::parse(&text, "queueing.toml", &NoFiles, &[], Some(seed)).expect("valid scenario")
}

/// Erlang C: probability that an arrival waits in M/M/c with offered load
/// `a` = λ/μ Erlangs, via the Erlang B recursion B(0) = 1,
/// B(k) = a·B(k−1)/(k + a·B(k−1)), then C = c·B/(c − a(1 − B)).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let c = f64::from(c);
    c * b / (c - a * (1.0 - b))
}

/// Collects `events.csv` rows.
#[derive(Default)]
pub struct Rows {
    /// (time, kind, subject, detail).
    pub events: Vec<(f64, String, String, String)>,
}

impl Output for Rows {
    fn sample(&mut self, _: f64, _: &str, _: &str, _: f64) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, t: f64, kind: &str, subject: &str, detail: &str) -> io::Result<()> {
        self.events
            .push((t, kind.into(), subject.into(), detail.into()));
        Ok(())
    }
}

impl Rows {
    /// Times of the rows of `kind`.
    pub fn times(&self, kind: &str) -> Vec<f64> {
        self.events
            .iter()
            .filter(|e| e.1 == kind)
            .map(|e| e.0)
            .collect()
    }

    /// (time, subject) of the rows of `kind` after the start.
    pub fn after_start(&self, kind: &str) -> Vec<(f64, &str)> {
        self.events
            .iter()
            .filter(|e| e.1 == kind && e.0 > 0.0)
            .map(|e| (e.0, e.2.as_str()))
            .collect()
    }
}

/// Simulates scenario `text` (named `name`, with `--set` overrides and a
/// seed) and collects its summary and `events.csv` rows.
pub fn simulate(
    text: &str,
    name: &str,
    overrides: &[String],
    seed: Option<u64>,
    files: &dyn Files,
) -> (Summary, Rows) {
    let text = scenario::apply_overrides(text, name, overrides).unwrap_or_else(|e| panic!("{e}"));
    let s = scenario::parse(&text, name, files, overrides, seed).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = Rows::default();
    let summary = Simulation::new(&s, &mut rows)
        .run(&mut |_| {})
        .expect("rows cannot fail");
    (summary, rows)
}
