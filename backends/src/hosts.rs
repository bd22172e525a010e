//! Docker engines ("hosts") a live run places replicas on.
//!
//! Key decision: a host is a node. Its capacity comes from the engine
//! (`NCPU`, `MemTotal`) unless the hosts file overrides it, and its
//! `address` is where ports published by its containers are reached —
//! `127.0.0.1` for local sockets — so traffic never uses bridge IPs.
//! Every engine is checked up front (reachable, API version negotiated) and
//! a failure is one clear line naming the host and endpoint.

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;

use bollard::{API_DEFAULT_VERSION, Docker};
use orkestra_core::model::{LABEL_HOSTNAME, LABEL_ZONE, NodeSpec, Resources};
use orkestra_core::quantity::{parse_bytes, parse_cpu_millis};
use orkestra_core::scenario::{InputError, parse_toml};
use serde::Deserialize;

/// The hosts file: `[hosts.NAME]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostsFile {
    /// Hosts by name.
    pub hosts: BTreeMap<String, HostEntry>,
}

/// One `[hosts.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostEntry {
    /// `unix:///path/docker.sock` or `tcp://host:port`.
    pub endpoint: String,
    /// Zone of the host (default: its name).
    pub zone: Option<String>,
    /// IP where its published ports are reached (default: 127.0.0.1 for
    /// `unix://`, the endpoint's host for `tcp://`).
    pub address: Option<String>,
    /// CPU override (a quantity); default: the engine's NCPU.
    pub cpu: Option<String>,
    /// Memory override (a quantity); default: the engine's MemTotal.
    pub memory: Option<String>,
    /// TLS client certificates for `tcp://` endpoints.
    pub tls: Option<TlsEntry>,
    /// Command (program and arguments) that stops this engine, for faults
    /// with `live = "stop-engine"`; needs `start`.
    pub stop: Option<Vec<String>>,
    /// Command that starts this engine again at the fault's end; needs `stop`.
    pub start: Option<Vec<String>>,
}

/// `tls = { ca = "...", cert = "...", key = "..." }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsEntry {
    /// CA certificate (PEM).
    pub ca: String,
    /// Client certificate (PEM).
    pub cert: String,
    /// Client key (PEM).
    pub key: String,
}

/// A connected, checked engine.
#[derive(Clone)]
pub struct Host {
    /// Its name.
    pub name: String,
    /// Its endpoint as configured.
    pub endpoint: String,
    /// Where its published ports are reached.
    pub address: IpAddr,
    /// The node it stands for.
    pub node: NodeSpec,
    /// The client.
    pub docker: Docker,
    /// Engine version, for messages.
    pub engine_version: String,
    /// Commands that stop and start the engine (`stop`, `start` in the hosts file).
    pub control: Option<(Vec<String>, Vec<String>)>,
}

/// Why hosts could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The hosts file is invalid.
    #[error("{0}")]
    File(#[from] InputError),
    /// An engine cannot be used.
    #[error("host '{host}' ({endpoint}): {message}")]
    Engine {
        /// Host name.
        host: String,
        /// Endpoint.
        endpoint: String,
        /// What went wrong.
        message: String,
    },
}

/// The default: the local engine as the single host `local`.
pub fn local_entry() -> (String, HostEntry) {
    let endpoint =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
    (
        "local".to_string(),
        HostEntry {
            endpoint,
            zone: None,
            address: None,
            cpu: None,
            memory: None,
            tls: None,
            stop: None,
            start: None,
        },
    )
}

/// Reads a hosts file.
pub fn read_hosts_file(path: &str) -> Result<Vec<(String, HostEntry)>, HostError> {
    let text = fs::read_to_string(path).map_err(|e| InputError {
        file: path.to_string(),
        line: 0,
        column: 0,
        path: String::new(),
        message: format!("cannot read hosts file: {e}"),
    })?;
    let file: HostsFile = parse_toml(&text, path, &[])?;
    if file.hosts.is_empty() {
        return Err(HostError::File(InputError {
            file: path.to_string(),
            line: 1,
            column: 1,
            path: "hosts".into(),
            message: "no hosts: add a [hosts.NAME] table with an endpoint".into(),
        }));
    }
    for (name, h) in &file.hosts {
        let bad = |message: String| {
            HostError::File(InputError {
                file: path.to_string(),
                line: 0,
                column: 0,
                path: format!("hosts.{name}"),
                message,
            })
        };
        if !(h.endpoint.starts_with("unix://") || h.endpoint.starts_with("tcp://")) {
            return Err(bad(format!(
                "endpoint '{}' must start with unix:// or tcp://",
                h.endpoint
            )));
        }
        for q in [&h.cpu, &h.memory].into_iter().flatten() {
            parse_bytes(q).map_err(|e| bad(e.to_string()))?;
        }
        if let Some(a) = &h.address {
            a.parse::<IpAddr>()
                .map_err(|_| bad(format!("address '{a}' is not an IP address")))?;
        }
    }
    Ok(file.hosts.into_iter().collect())
}

/// Connects to and checks one engine.
pub async fn connect(name: &str, e: &HostEntry) -> Result<Host, HostError> {
    let fail = |message: String| HostError::Engine {
        host: name.to_string(),
        endpoint: e.endpoint.clone(),
        message,
    };
    let control = match (&e.stop, &e.start) {
        (None, None) => None,
        (Some(stop), Some(start)) if !stop.is_empty() && !start.is_empty() => {
            Some((stop.clone(), start.clone()))
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                "`stop` and `start` must each name a program (non-empty arrays)".into(),
            ));
        }
        _ => {
            return Err(fail(
                "give both `stop` and `start` (the commands that stop and start this engine) or neither".into(),
            ));
        }
    };
    let docker = if let Some(path) = e.endpoint.strip_prefix("unix://") {
        Docker::connect_with_unix(path, 60, API_DEFAULT_VERSION)
            .map_err(|err| fail(format!("cannot connect: {err}")))?
    } else if let Some(tls) = &e.tls {
        Docker::connect_with_ssl(
            &e.endpoint,
            std::path::Path::new(&tls.key),
            std::path::Path::new(&tls.cert),
            std::path::Path::new(&tls.ca),
            60,
            API_DEFAULT_VERSION,
        )
        .map_err(|err| fail(format!("cannot set up TLS: {err}")))?
    } else {
        Docker::connect_with_http(&e.endpoint, 60, API_DEFAULT_VERSION)
            .map_err(|err| fail(format!("cannot connect: {err}")))?
    };
    let docker = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        docker.negotiate_version(),
    )
    .await
    .map_err(|_| fail("no answer within 10 s".into()))?
    .map_err(|err| fail(format!("engine not reachable: {err}")))?;
    let version = docker
        .version()
        .await
        .map_err(|err| fail(format!("engine not reachable: {err}")))?;
    let api = version.api_version.clone().unwrap_or_default();
    if api_older_than(&api, (1, 41)) {
        return Err(fail(format!(
            "Docker Engine API {api} is too old; Orkestra needs 1.41 or later (Docker 20.10+)"
        )));
    }
    let info = docker
        .info()
        .await
        .map_err(|err| fail(format!("cannot read engine info: {err}")))?;
    let cpu_milli = match &e.cpu {
        Some(q) => parse_cpu_millis(q).map_err(|err| fail(err.to_string()))?,
        None => info.ncpu.unwrap_or(1).max(1) as u64 * 1000,
    };
    let memory = match &e.memory {
        Some(q) => parse_bytes(q).map_err(|err| fail(err.to_string()))?,
        None => info.mem_total.unwrap_or(0).max(0) as u64,
    };
    let address: IpAddr = match &e.address {
        Some(a) => a
            .parse()
            .map_err(|_| fail(format!("address '{a}' is not an IP address")))?,
        None if e.endpoint.starts_with("unix://") => IpAddr::from([127, 0, 0, 1]),
        None => {
            let hostport = e.endpoint.trim_start_matches("tcp://");
            let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
            host.parse().map_err(|_| {
                fail(format!(
                    "set `address` to the IP of '{host}' (no DNS lookups)"
                ))
            })?
        }
    };
    let r = Resources::new(cpu_milli, memory);
    let zone = e.zone.clone().unwrap_or_else(|| name.to_string());
    let labels = BTreeMap::from([
        (LABEL_HOSTNAME.to_string(), name.to_string()),
        (LABEL_ZONE.to_string(), zone.clone()),
    ]);
    Ok(Host {
        name: name.to_string(),
        endpoint: e.endpoint.clone(),
        address,
        node: NodeSpec {
            csi: Some(Default::default()),
            name: name.to_string(),
            pool: "hosts".to_string(),
            zone,
            labels,
            taints: Vec::new(),
            capacity: r,
            allocatable: r,
            speed: 1.0,
        },
        docker,
        engine_version: version.version.unwrap_or_default(),
        control,
    })
}

/// `"1.40" < (1, 41)`.
fn api_older_than(api: &str, min: (u32, u32)) -> bool {
    let mut parts = api.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    v < min
}

/// Connects to every host (the local engine when `path` is `None`).
pub async fn connect_all(path: Option<&str>) -> Result<Vec<Host>, HostError> {
    let entries = match path {
        Some(p) => read_hosts_file(p)?,
        None => vec![local_entry()],
    };
    let mut hosts = Vec::new();
    for (name, e) in &entries {
        hosts.push(connect(name, e).await?);
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> String {
        let p =
            std::env::temp_dir().join(format!("orkestra-hosts-{}-{name}.toml", std::process::id()));
        fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    #[test]
    fn malformed_hosts_files_get_located_errors() {
        let p = write("typo", "[hosts.a]\nendpont = \"unix:///x\"\n");
        let e = read_hosts_file(&p).unwrap_err().to_string();
        assert!(
            e.contains(":2:1: hosts.a.endpont: unknown field `endpont`"),
            "{e}"
        );
        let p = write("scheme", "[hosts.a]\nendpoint = \"http://x\"\n");
        let e = read_hosts_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("hosts.a: endpoint 'http://x' must start with unix:// or tcp://"),
            "{e}"
        );
        let p = write("empty", "[hosts]\n");
        assert!(
            read_hosts_file(&p)
                .unwrap_err()
                .to_string()
                .contains("no hosts")
        );
    }

    #[test]
    fn api_versions_compare_numerically() {
        assert!(api_older_than("1.40", (1, 41)));
        assert!(!api_older_than("1.50", (1, 41)));
        assert!(!api_older_than("1.100", (1, 41)));
    }

    #[tokio::test]
    async fn an_unreachable_engine_is_one_clear_line() {
        let e = HostEntry {
            endpoint: "unix:///nonexistent/docker.sock".into(),
            zone: None,
            address: None,
            cpu: None,
            memory: None,
            tls: None,
            stop: None,
            start: None,
        };
        let err = connect("ghost", &e).await.err().unwrap().to_string();
        assert!(
            err.starts_with("host 'ghost' (unix:///nonexistent/docker.sock): cannot connect"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
        // A stop command without a start command is refused before connecting.
        let half = HostEntry {
            stop: Some(vec!["true".into()]),
            ..e.clone()
        };
        let err = connect("ghost", &half).await.err().unwrap().to_string();
        assert!(err.contains("give both `stop` and `start`"), "{err}");
    }
}
