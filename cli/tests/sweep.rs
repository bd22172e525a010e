//! `sim sweep` and `sim report` end to end: the issue's sweep of spike.toml
//! (three autoscalers × two schedulers × five seeds) rendered and opened in
//! headless Chromium, results independent of `--jobs`, resuming, reports
//! deterministic, and one clear error per bad input.
//!
//! Runs are shortened so the suite stays fast: `simulation.duration=2m` with
//! the spike moved to 30 s (`services.web.traffic.start=30s`) keeps the
//! ramp, the hold and the autoscalers' reaction inside every run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sim")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn spike() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("scenarios/spike.toml")
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orkestra-sweep-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Shortened spike: 2 simulated minutes, the spike from 30 s (see the module doc).
const SHORT: [&str; 4] = [
    "--set",
    "simulation.duration=2m",
    "--set",
    "services.web.traffic.start=30s",
];

const AUTOSCALERS: &str = "services.web.autoscaler.kind=hpa,predictive,target-tracking";
/// One metric all three autoscalers take: the predictive one forecasts a per-replica
/// AverageValue, so every run scales on 26 requests/s per replica (26 × 50 ms ÷ 4 slots =
/// 32.5% busy, about spike.toml's CPU target of 30% busy) instead of spike.toml's CPU
/// utilisation.
const METRIC: &str = "services.web.autoscaler.metrics=[{type=\"Pods\",pods={metric={name=\"requests_per_second\"},target={type=\"AverageValue\",averageValue=\"26\"}}}]";
const SCHEDULERS: &str = "scheduler.policy=kubernetes-default,swarm-spread";

/// Every file under `dir` except wall-clock ones, by relative path.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if p.file_name().unwrap() != "timing.json" {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Opens `index.html` in headless Chromium with a checking script appended
/// and returns, per figure, `id:drawn elements:svg box:png size`.
fn chromium_check(report: &Path) -> Option<Vec<String>> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(chromium) = chromium else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (.ci/run installs the Debian package)"
        );
        println!("SKIP: chromium not found; the report was not opened in a browser");
        return None;
    };
    let html = fs::read_to_string(report.join("index.html")).unwrap();
    let script = r#"<script>
window.addEventListener('load', async () => {
  const out = [];
  for (const f of document.querySelectorAll('figure.figure')) {
    const svg = f.querySelector('svg');
    let drawn = 0, box = '0x0';
    if (svg) {
      const b = svg.getBBox();
      box = Math.round(b.width) + 'x' + Math.round(b.height);
      drawn = svg.querySelectorAll('path,polyline,polygon,rect,line,circle,text').length;
    }
    const a = f.querySelector('a.png');
    const png = await new Promise(done => {
      const img = new Image();
      img.onload = () => done(img.naturalWidth + 'x' + img.naturalHeight);
      img.onerror = () => done('error');
      img.src = a ? a.href : 'missing.png';
    });
    out.push(f.id + ':' + drawn + ':' + box + ':' + png);
  }
  document.body.setAttribute('data-check', out.join(';'));
});
</script>
</body>"#;
    let check = report.join("check.html");
    fs::write(&check, html.replace("</body>", script)).unwrap();
    let o = Command::new("timeout")
        .args([
            "120",
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!(
            "file://{}",
            check.canonicalize().unwrap().display()
        ))
        .output()
        .expect("run chromium");
    let _ = fs::remove_file(&check);
    let dom = String::from_utf8_lossy(&o.stdout);
    let start = dom
        .find("data-check=\"")
        .unwrap_or_else(|| panic!("no check result; chromium said: {}", stderr(&o)))
        + "data-check=\"".len();
    let end = start + dom[start..].find('"').unwrap();
    Some(dom[start..end].split(';').map(str::to_string).collect())
}

#[test]
fn a_sweep_of_spike_over_three_autoscalers_two_schedulers_five_seeds_renders_in_chromium() {
    let d = scratch("issue");
    let spike = spike();
    let mut args = vec![
        "sweep",
        spike.as_str(),
        "--vary",
        AUTOSCALERS,
        "--vary",
        SCHEDULERS,
    ];
    args.extend([
        "--seeds",
        "5",
        "--jobs",
        "2",
        "--out",
        "spike-sweep",
        "--report",
    ]);
    args.extend(SHORT);
    args.extend(["--set", METRIC]);
    let out = ok(&sim(&args, &d));
    // 3 autoscalers × 2 schedulers × 5 seeds = 30 runs.
    assert!(out.contains("sweep: 30 runs = services.web.autoscaler.kind (3) × scheduler.policy (2) × 5 seeds; 30 run now, 0 already finished"), "{out}");
    let table = fs::read_to_string(d.join("spike-sweep/sweep.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 30, "header + one row per run");
    assert!(
        lines[0]
            .starts_with("run,services.web.autoscaler.kind,scheduler.policy,seed,web.requests,"),
        "{}",
        lines[0]
    );
    // Plan order: first dimension slowest, seeds fastest (spike.toml's seed is 1).
    assert!(
        lines[1].starts_with("hpa_kubernetes-default_seed1,hpa,kubernetes-default,1,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[30].starts_with("target-tracking_swarm-spread_seed5,target-tracking,swarm-spread,5,"),
        "{}",
        lines[30]
    );
    let report = d.join("spike-sweep/report");
    let html = fs::read_to_string(report.join("index.html")).unwrap();
    // One bar chart per key metric and the table, with six configurations.
    assert!(html.contains("30 runs in 6 configurations"), "intro");
    assert!(html.contains("<td class=\"l\">predictive / swarm-spread</td><td>5</td>"));
    assert!(
        html.contains("class=\"best\""),
        "a best configuration is highlighted"
    );
    let figures: Vec<&str> = html
        .match_indices("<figure class=\"figure\" id=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    for id in [
        "traffic",
        "capacity",
        "utilisation",
        "latency-cdf",
        "bars-1",
    ] {
        assert!(figures.contains(&id), "{id} in {figures:?}");
        let png = fs::read(report.join(format!("{id}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{id}.png is a PNG");
    }
    let Some(checks) = chromium_check(&report) else {
        return;
    };
    assert_eq!(checks.len(), figures.len(), "{checks:?}");
    for c in &checks {
        let f: Vec<&str> = c.split(':').collect();
        let drawn: usize = f[1].parse().unwrap();
        // A rendered figure has its axes, labels and data: dozens of elements, a non-empty box.
        assert!(drawn >= 10, "{c}: too few drawn elements");
        assert_ne!(f[2], "0x0", "{c}: empty svg");
        assert!(f[3].starts_with("960x"), "{c}: png did not load");
    }
}

#[test]
fn results_do_not_depend_on_jobs_and_an_interrupted_sweep_resumes() {
    let d = scratch("jobs");
    let spike = spike();
    let run = |out: &str, jobs: &str| {
        let mut args = vec![
            "sweep",
            spike.as_str(),
            "--vary",
            "scheduler.policy=first-fit,tetris",
        ];
        args.extend(["--seeds", "2", "--jobs", jobs, "--out", out, "-q"]);
        args.extend(SHORT);
        sim(&args, &d)
    };
    ok(&run("one", "1"));
    ok(&run("two", "2"));
    let (a, b) = (tree(&d.join("one")), tree(&d.join("two")));
    // sweep.json, sweep.csv and 2 × 2 runs of 4 files each (no nodes.csv).
    assert_eq!(
        a.len(),
        2 + 4 * 4,
        "{:?}",
        a.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(a == b, "byte-identical whatever --jobs");

    // Interrupt: one run never finished (its .partial is left), another lost its folder.
    let lost = d.join("two/tetris_seed2");
    fs::remove_dir_all(&lost).unwrap();
    fs::create_dir_all(d.join("two/tetris_seed1.partial")).unwrap();
    fs::remove_dir_all(d.join("two/first-fit_seed1")).unwrap();
    let untouched = fs::metadata(d.join("two/first-fit_seed2/summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    let mut args = vec![
        "sweep",
        spike.as_str(),
        "--vary",
        "scheduler.policy=first-fit,tetris",
    ];
    args.extend(["--seeds", "2", "--jobs", "2", "--out", "two"]);
    args.extend(SHORT);
    let out = ok(&sim(&args, &d));
    assert!(out.contains("2 run now, 2 already finished"), "{out}");
    assert_eq!(
        fs::metadata(d.join("two/first-fit_seed2/summary.json"))
            .unwrap()
            .modified()
            .unwrap(),
        untouched,
        "a finished run is not redone"
    );
    assert!(!d.join("two/tetris_seed1.partial").exists());
    assert!(
        tree(&d.join("two")) == a,
        "the resumed sweep equals the uninterrupted one"
    );

    // The same folder with another plan is refused (exit 3), and replaced with --force.
    let mut other = vec![
        "sweep",
        spike.as_str(),
        "--vary",
        "scheduler.policy=first-fit",
        "--seeds",
        "3",
    ];
    other.extend(["--out", "two", "-q"]);
    other.extend(SHORT);
    let o = sim(&other, &d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'two' already exists; pass --force"),
        "{}",
        stderr(&o)
    );
    other.push("--force");
    ok(&sim(&other, &d));
    assert_eq!(
        fs::read_to_string(d.join("two/sweep.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 3
    );
}

#[test]
fn reports_are_deterministic_and_overlay_runs() {
    let d = scratch("determinism");
    let spike = spike();
    let mut args = vec!["run", spike.as_str(), "--out", "run", "-q", "--report"];
    args.extend(SHORT);
    args.extend(["--set", "simulation.nodeMetrics=true"]);
    ok(&sim(&args, &d));
    let first = tree(&d.join("run/report"));
    // A single run has no comparison; with nodes.csv it has a heatmap.
    let names: Vec<&str> = first.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "capacity.png",
            "heatmap-1.png",
            "index.html",
            "latency-cdf.png",
            "traffic.png",
            "utilisation.png"
        ]
    );
    ok(&sim(&["report", "run", "--out", "again", "-q"], &d));
    assert!(tree(&d.join("again")) == first, "same inputs, same bytes");
}

#[test]
fn bad_inputs_give_one_clear_line() {
    let d = scratch("bad");
    let spike = spike();
    // Table of (arguments, exit code, expected stderr).
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "sweep",
                spike.as_str(),
                "--vary",
                "services.web.bogus=1,2",
                "--set",
                "simulation.duration=10s",
            ],
            1,
            "sim: --vary services.web.bogus=1,2: services.web.bogus: unknown field `bogus`",
        ),
        (
            vec!["sweep", spike.as_str(), "--vary", "scheduler.policy"],
            1,
            "sim: --vary scheduler.policy: expected dotted.path=a,b,c",
        ),
        (
            vec!["sweep", spike.as_str()],
            1,
            "nothing to sweep: give --vary path=a,b,c or --seeds N, or a [sweep] table",
        ),
        (
            vec![
                "sweep",
                spike.as_str(),
                "--vary",
                "scheduler.policy=first-fit,nope",
            ],
            1,
            "sim: --vary scheduler.policy=first-fit,nope: scheduler.policy: unknown placement policy 'nope'",
        ),
        (
            vec!["report", "."],
            1,
            "sim: report: .: not a results folder (no summary.json) nor a folder of them",
        ),
        (
            vec!["report", "missing"],
            1,
            "sim: report: missing: no such folder",
        ),
    ];
    for (args, code, want) in cases {
        let o = sim(&args, &d);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
    }
    // Mixed scenarios: refused without --force, rendered with it.
    let steady = spike.replace("spike.toml", "steady.toml");
    ok(&sim(
        &[
            "run",
            spike.as_str(),
            "--out",
            "a",
            "-q",
            "--set",
            "simulation.duration=20s",
        ],
        &d,
    ));
    ok(&sim(
        &[
            "run",
            steady.as_str(),
            "--out",
            "b",
            "-q",
            "--set",
            "simulation.duration=20s",
        ],
        &d,
    ));
    let o = sim(&["report", "a", "b", "--out", "r"], &d);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("sim: report: b is scenario 'steady' but a is scenario 'spike'")
            || stderr(&o).contains("sim: report: a is scenario 'spike' but b is scenario 'steady'"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("(pass --force to mix them)"));
    ok(&sim(
        &["report", "a", "b", "--out", "r", "--force", "-q"],
        &d,
    ));
    assert!(d.join("r/index.html").is_file());
}

#[test]
fn the_sweep_table_is_used_when_the_command_line_varies_nothing() {
    let d = scratch("table");
    let text = fs::read_to_string(spike()).unwrap()
        + "\n[sweep]\nseeds = 2\nvary = [{ path = \"scheduler.policy\", values = [\"first-fit\", \"tetris\"] }]\n";
    fs::write(d.join("s.toml"), text).unwrap();
    let mut args = vec!["sweep", "s.toml", "--jobs", "2", "--out", "t"];
    args.extend(SHORT);
    let out = ok(&sim(&args, &d));
    // 2 policies × 2 seeds from the table.
    assert!(
        out.contains("sweep: 4 runs = scheduler.policy (2) × 2 seeds"),
        "{out}"
    );
    // --seeds and --vary replace the table's.
    let mut args = vec![
        "sweep",
        "s.toml",
        "--seeds",
        "1",
        "--vary",
        "services.web.replicas=10,20,30",
    ];
    args.extend(["--out", "u"]);
    args.extend(SHORT);
    let out = ok(&sim(&args, &d));
    assert!(
        out.contains("sweep: 3 runs = services.web.replicas (3) × 1 seed;"),
        "{out}"
    );
    assert!(d.join("u/20_seed1/summary.json").is_file());
}

#[test]
fn live_and_simulated_runs_share_axes_and_get_a_fidelity_table() {
    let d = scratch("fidelity");
    let spike = spike();
    let mut args = vec!["run", spike.as_str(), "--out", "sim", "-q"];
    args.extend(SHORT);
    ok(&sim(&args, &d));
    // A stand-in for a live run of the same scenario: the same folder with mode "live" (the
    // reader only sees the files, so a real live folder renders the same way).
    fs::create_dir_all(d.join("live")).unwrap();
    for f in fs::read_dir(d.join("sim")).unwrap() {
        let p = f.unwrap().path();
        fs::copy(&p, d.join("live").join(p.file_name().unwrap())).unwrap();
    }
    let summary = fs::read_to_string(d.join("live/summary.json")).unwrap();
    assert!(summary.contains("\"mode\": \"sim\""));
    fs::write(
        d.join("live/summary.json"),
        summary.replace("\"mode\": \"sim\"", "\"mode\": \"live\""),
    )
    .unwrap();
    ok(&sim(&["report", "sim", "live", "--out", "r", "-q"], &d));
    let html = fs::read_to_string(d.join("r/index.html")).unwrap();
    assert!(
        html.contains("<h2>Fidelity: simulated vs live</h2>"),
        "fidelity section"
    );
    // Identical data: relative error (sim − live) ÷ live = 0 for every row.
    for what in ["p50 latency", "p99 latency", "ready replicas (mean)"] {
        let row = format!("<td class=\"l\">web · {what}</td>");
        let at = html.find(&row).unwrap_or_else(|| panic!("{what} row"));
        let end = at + html[at..].find("</tr>").unwrap();
        assert!(
            html[at..end].ends_with("<td>+0.0%</td>"),
            "{}",
            &html[at..end]
        );
    }
    // Both worlds are groups of their own on the shared axes: "spike" and "spike (live)".
    assert!(html.contains("2 runs in 2 configurations"));
    assert!(html.contains("<td class=\"l\">spike (live)</td>"));
}
