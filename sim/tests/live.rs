//! Live mode against real Docker engines: the local engine plus a second
//! `dockerd` this harness starts on its own socket, data root, exec root and
//! bridge, standing in for a second host. All traffic stays on 127.0.0.1.
//!
//! These tests need a Docker engine. In CI they must run; elsewhere, without
//! an engine, they print a loud SKIP line and pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One live test at a time: they share engines and the run's labels.
static SERIAL: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn docker(host: &str, args: &[&str]) -> Output {
    Command::new("docker")
        .arg("-H")
        .arg(host)
        .args(args)
        .output()
        .expect("docker CLI")
}

fn engine_available() -> bool {
    let ok = Command::new("docker")
        .args(["-H", LOCAL, "info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but no Docker engine answers at {LOCAL}"
        );
        eprintln!("\n*** SKIP: no Docker engine answers at {LOCAL}; live-mode tests not run ***\n");
    }
    ok
}

const LOCAL: &str = "unix:///var/run/docker.sock";

/// A second Docker engine on this machine, stopped and wiped on drop.
struct SecondEngine {
    dir: PathBuf,
    child: Child,
}

impl SecondEngine {
    fn start() -> SecondEngine {
        // Short path: unix socket paths are limited to ~108 bytes.
        let dir = PathBuf::from(format!("/tmp/okd{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let log = fs::File::create(dir.join("log")).unwrap();
        // Its own (empty) config, so the machine's daemon.json (data-root …) does not clash.
        fs::write(dir.join("daemon.json"), "{}").unwrap();
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("sock").display()))
            .arg("--bridge=none")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a second dockerd");
        let mut engine = SecondEngine { dir, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !docker(&engine.endpoint(), &["info"]).status.success() {
            if let Ok(Some(status)) = engine.child.try_wait() {
                panic!(
                    "second dockerd exited ({status}); log:\n{}",
                    fs::read_to_string(engine.dir.join("log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "second dockerd did not answer in 60 s; log:\n{}",
                fs::read_to_string(engine.dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        engine
    }

    fn endpoint(&self) -> String {
        format!("unix://{}", self.dir.join("sock").display())
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.join("exec"))
            .status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orkestra-live-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn sim(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sim"));
    c.args(args).current_dir(dir);
    c
}

/// The spike scenario shortened: 4 replicas of 1 cpu (2 per 2-cpu host),
/// 60 scenario-seconds at speed 4, light traffic, sleeping workload.
const SHORT_SPIKE: &[&str] = &[
    "--set",
    "services.web.replicas=4",
    "--set",
    "services.web.requests.cpu=1",
    "--set",
    "services.web.work=sleep",
    "--set",
    "simulation.duration=60s",
    "--set",
    "services.web.traffic.base=20",
    "--set",
    "services.web.traffic.peak=80",
    "--set",
    "services.web.traffic.start=12s",
    "--set",
    "services.web.traffic.rampUp=4s",
    "--set",
    "services.web.traffic.hold=20s",
    "--set",
    "services.web.traffic.rampDown=4s",
    "--speed",
    "4",
];

fn labelled(host: &str, what: &str) -> Vec<String> {
    let args: Vec<&str> = match what {
        "containers" => vec!["ps", "-a", "-q", "--filter", "label=orkestra.managed=true"],
        _ => vec![
            "network",
            "ls",
            "-q",
            "--filter",
            "label=orkestra.managed=true",
        ],
    };
    String::from_utf8_lossy(&docker(host, &args).stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `(container id, published address)` of the run's running containers on `host`.
fn running(host: &str) -> Vec<(String, String)> {
    let out = docker(
        host,
        &["ps", "-q", "--filter", "label=orkestra.run=spike-seed1"],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|id| {
            let port = docker(host, &["port", id, "8080/tcp"]);
            (
                id.to_string(),
                String::from_utf8_lossy(&port.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

/// Requests served so far by the workload at `addr`, from its /metrics.
fn served(addr: &str) -> f64 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0.0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .filter(|l| l.starts_with("orkestra_requests_total{outcome=\"ok\"}"))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn spike_runs_live_across_two_engines_heals_a_killed_container_and_cleans_up() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_available() {
        return;
    }
    let second = SecondEngine::start();
    let d = scratch("two-hosts");
    let hosts = d.join("hosts.toml");
    fs::write(
        &hosts,
        format!(
            "[hosts.a]\nendpoint = \"{LOCAL}\"\nzone = \"zone-a\"\ncpu = \"2\"\nmemory = \"4Gi\"\n\n[hosts.b]\nendpoint = \"{}\"\nzone = \"zone-b\"\ncpu = \"2\"\nmemory = \"4Gi\"\n",
            second.endpoint()
        ),
    )
    .unwrap();
    let spike = repo().join("scenarios/spike.toml");
    let mut args = vec![
        "run",
        spike.to_str().unwrap(),
        "--live",
        "--hosts",
        hosts.to_str().unwrap(),
        "--out",
        "r",
    ];
    args.extend_from_slice(SHORT_SPIKE);
    let mut child = sim(&args, &d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait until traffic flows to both hosts, then kill one container.
    let deadline = Instant::now() + Duration::from_secs(240);
    let (mut on_a, mut on_b) = (0.0, 0.0);
    while on_a == 0.0 || on_b == 0.0 {
        assert!(
            Instant::now() < deadline,
            "no traffic on both hosts (a {on_a}, b {on_b})"
        );
        assert!(child.try_wait().unwrap().is_none(), "sim exited early");
        std::thread::sleep(Duration::from_millis(500));
        on_a = running(LOCAL).iter().map(|(_, addr)| served(addr)).sum();
        on_b = running(&second.endpoint())
            .iter()
            .map(|(_, addr)| served(addr))
            .sum();
    }
    let (victim, _) = running(LOCAL)
        .into_iter()
        .next()
        .expect("a container on host a");
    assert!(docker(LOCAL, &["kill", &victim]).status.success());

    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sim failed: {stderr}");
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["mode"], "live");
    let requests = &summary["services"][0]["requests"];
    let (total, ok) = (
        requests["total"].as_f64().unwrap(),
        requests["ok"].as_f64().unwrap(),
    );
    // Speed 4 compresses time, not rates: requests = ∫rate dt / 4 =
    // (20×12 + 50×4 + 80×20 + 50×4 + 20×20)/4 = 2640/4 = 660, Poisson sd √660 ≈ 26.
    assert!(
        (total - 660.0).abs() < 5.0 * 660f64.sqrt(),
        "{total} requests: {summary}"
    );
    // Only requests caught in the killed container may fail.
    assert!(ok > total - 40.0, "{ok} of {total} ok: {summary}");
    let events = fs::read_to_string(d.join("r/events.csv")).unwrap();
    assert!(events.contains(",died,"), "{events}");
    let recovery = events
        .lines()
        .find(|l| l.contains(",ready,") && l.contains("replaces="))
        .unwrap_or_else(|| panic!("no replacement in\n{events}"));
    assert!(recovery.contains("recovery_s="), "{recovery}");
    assert!(
        events.contains("node=a") && events.contains("node=b"),
        "{events}"
    );
    assert!(
        fs::read_to_string(d.join("r/timeseries.csv"))
            .unwrap()
            .contains("service:web,ready_replicas,")
    );
    for host in [LOCAL.to_string(), second.endpoint()] {
        assert!(
            labelled(&host, "containers").is_empty(),
            "containers left on {host}"
        );
        assert!(
            labelled(&host, "networks").is_empty(),
            "networks left on {host}"
        );
    }
}

#[test]
fn bad_hosts_and_unreachable_engines_fail_cleanly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = scratch("errors");
    let spike = repo().join("scenarios/spike.toml");
    let spike = spike.to_str().unwrap();
    // Malformed hosts file: input error, exit 1, located.
    fs::write(
        d.join("typo.toml"),
        "[hosts.a]\nendpont = \"unix:///var/run/docker.sock\"\n",
    )
    .unwrap();
    let o = sim(
        &["run", spike, "--live", "--hosts", "typo.toml", "--out", "r"],
        &d,
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("typo.toml:2:1: hosts.a.endpont: unknown field `endpont`"),
        "{err}"
    );
    // Unreachable engine: exit 5, one line naming host and endpoint.
    fs::write(
        d.join("ghost.toml"),
        "[hosts.ghost]\nendpoint = \"unix:///tmp/no-such-docker.sock\"\n",
    )
    .unwrap();
    let o = sim(
        &[
            "run",
            spike,
            "--live",
            "--hosts",
            "ghost.toml",
            "--out",
            "r",
        ],
        &d,
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "sim: live: host 'ghost' (unix:///tmp/no-such-docker.sock): cannot connect"
        ),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert!(!d.join("r").exists() && !d.join("r.partial").exists());
}

#[test]
fn image_build_failure_is_one_line() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_available() {
        return;
    }
    let d = scratch("image");
    let o = sim(&["live", "image"], &d)
        .env("ORKESTRA_WORKLOAD_BIN", "/nonexistent/orkestra-workload")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(
        err.starts_with("sim: live: workload image: /nonexistent/orkestra-workload: No such file"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn light_spike(duration: &str, speed: &str) -> Vec<String> {
    [
        "--set",
        "services.web.replicas=3",
        "--set",
        "services.web.work=sleep",
        "--set",
        &format!("simulation.duration={duration}"),
        "--set",
        "services.web.traffic.base=20",
        "--set",
        "services.web.traffic.peak=40",
        "--speed",
        speed,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_restarted_controller_adopts_its_containers_without_duplicates() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_available() {
        return;
    }
    let d = scratch("adopt");
    let spike = repo().join("scenarios/spike.toml");
    let mut args: Vec<String> = ["run", spike.to_str().unwrap(), "--live", "--out", "first"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(light_spike("10m", "2"));
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut first = sim(&args_ref, &d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("3 serving containers", Duration::from_secs(240), || {
        let r = running(LOCAL);
        r.len() == 3 && r.iter().all(|(_, a)| served(a) > 0.0)
    });
    let before: Vec<String> = running(LOCAL).into_iter().map(|(id, _)| id).collect();
    // Kill the controller hard: its containers keep running.
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(running(LOCAL).len(), 3);

    let mut args: Vec<String> = ["run", spike.to_str().unwrap(), "--live", "--out", "second"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(light_spike("20s", "2"));
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut second = sim(&args_ref, &d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut most = 0;
    let mut seen = std::collections::BTreeSet::new();
    while second.try_wait().unwrap().is_none() {
        let now: Vec<String> = running(LOCAL).into_iter().map(|(id, _)| id).collect();
        most = most.max(now.len());
        seen.extend(now);
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = second.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(most <= 3, "up to {most} containers ran at once: duplicates");
    let events = fs::read_to_string(d.join("second/events.csv")).unwrap();
    assert_eq!(events.matches(",adopt,").count(), 3, "{events}");
    assert!(
        !events.contains(",create,"),
        "the restarted controller created replicas:\n{events}"
    );
    // The only containers that ran are the ones the first controller started.
    let before: std::collections::BTreeSet<String> = before.into_iter().collect();
    assert!(
        seen.is_subset(&before),
        "new containers appeared: {seen:?} vs {before:?}"
    );
    assert!(labelled(LOCAL, "containers").is_empty());
}

#[test]
fn sigterm_stops_traffic_cleans_up_and_still_writes_results() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_available() {
        return;
    }
    let d = scratch("sigterm");
    let spike = repo().join("scenarios/spike.toml");
    let mut args: Vec<String> = ["run", spike.to_str().unwrap(), "--live", "--out", "r"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(light_spike("10m", "1"));
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = sim(&args_ref, &d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("serving containers", Duration::from_secs(240), || {
        let r = running(LOCAL);
        r.len() == 3 && r.iter().all(|(_, a)| served(a) > 0.0)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/summary.json")).unwrap()).unwrap();
    let covered = summary["duration_s"].as_f64().unwrap();
    assert!(covered > 1.0 && covered < 600.0, "covered {covered} s");
    assert!(summary["services"][0]["requests"]["ok"].as_u64().unwrap() > 0);
    assert!(labelled(LOCAL, "containers").is_empty());
    assert!(labelled(LOCAL, "networks").is_empty());
}
