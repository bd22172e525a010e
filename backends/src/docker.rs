//! The Docker operations live mode needs, and nothing else.
//!
//! Key decision: every object Orkestra creates carries the label
//! `orkestra.managed=true` and its run's `orkestra.run` label, and every
//! list, stop and remove filters on those labels — the tool never touches a
//! container or network it did not create. Containers run hardened:
//! read-only root, all capabilities dropped, no-new-privileges, non-root
//! user, pids and memory limits, a port published on the host's address only.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};

/// Label on everything Orkestra creates.
pub const MANAGED: &str = "orkestra.managed";
/// Label naming the run.
pub const RUN: &str = "orkestra.run";
/// Label naming the service.
pub const SERVICE: &str = "orkestra.service";
/// Label naming the replica (`<service>-<n>`).
pub const REPLICA: &str = "orkestra.replica";
/// Label naming the revision of the service spec.
pub const REVISION: &str = "orkestra.revision";
/// The port the workload listens on inside its container.
pub const WORKLOAD_PORT: u16 = 8080;

/// A labelled container as listed.
#[derive(Clone, Debug)]
pub struct Managed {
    /// Container id.
    pub id: String,
    /// `orkestra.service`.
    pub service: String,
    /// `orkestra.replica`.
    pub replica: String,
    /// `orkestra.revision` (`"1"` for the scenario's template, `"2"` for a rollout's new one).
    pub revision: String,
    /// Running (not exited, not dead; a paused container counts as running).
    pub running: bool,
    /// Published address of the workload port, when running.
    pub addr: Option<SocketAddr>,
}

fn label_filter(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut f = HashMap::new();
    f.insert(
        "label".to_string(),
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    );
    f
}

/// Containers of `run` (or of every run when `run` is `None`) on one engine.
pub async fn list(
    docker: &Docker,
    run: Option<&str>,
    address: IpAddr,
) -> Result<Vec<Managed>, bollard::errors::Error> {
    let mut pairs = vec![(MANAGED, "true")];
    if let Some(r) = run {
        pairs.push((RUN, r));
    }
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&label_filter(&pairs))
        .build();
    let list = docker.list_containers(Some(opts)).await?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels.unwrap_or_default();
            let running = matches!(
                c.state,
                Some(
                    bollard::models::ContainerSummaryStateEnum::RUNNING
                        | bollard::models::ContainerSummaryStateEnum::PAUSED
                )
            );
            let port = c
                .ports
                .unwrap_or_default()
                .into_iter()
                .find(|p| p.private_port == WORKLOAD_PORT && p.public_port.is_some())
                .and_then(|p| p.public_port);
            Some(Managed {
                id: c.id?,
                service: labels.get(SERVICE).cloned().unwrap_or_default(),
                replica: labels.get(REPLICA).cloned().unwrap_or_default(),
                revision: labels.get(REVISION).cloned().unwrap_or_default(),
                running,
                addr: if running {
                    port.map(|p| SocketAddr::new(address, p))
                } else {
                    None
                },
            })
        })
        .collect())
}

/// What a replica's container needs.
pub struct ContainerSpec<'a> {
    /// Run id.
    pub run: &'a str,
    /// Service name.
    pub service: &'a str,
    /// Replica name.
    pub replica: &'a str,
    /// Revision label.
    pub revision: &'a str,
    /// Image tag.
    pub image: &'a str,
    /// Workload arguments.
    pub args: Vec<String>,
    /// CPU limit in millicores (0 = none).
    pub cpu_milli: u64,
    /// Memory limit in bytes (0 = none).
    pub memory_bytes: u64,
    /// Network to join.
    pub network: &'a str,
    /// Address to publish the port on.
    pub publish_on: IpAddr,
}

/// Creates and starts a hardened container; returns its id.
pub async fn run_container(
    docker: &Docker,
    s: &ContainerSpec<'_>,
) -> Result<String, bollard::errors::Error> {
    let name = format!("ork-{}-{}", s.run, s.replica);
    let port = format!("{WORKLOAD_PORT}/tcp");
    let mut bindings = HashMap::new();
    bindings.insert(
        port.clone(),
        Some(vec![PortBinding {
            host_ip: Some(s.publish_on.to_string()),
            host_port: Some(String::new()),
        }]),
    );
    let labels: HashMap<String, String> = [
        (MANAGED, "true"),
        (RUN, s.run),
        (SERVICE, s.service),
        (REPLICA, s.replica),
        (REVISION, s.revision),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let body = ContainerCreateBody {
        image: Some(s.image.to_string()),
        cmd: Some(s.args.clone()),
        user: Some("65534:65534".to_string()),
        exposed_ports: Some(vec![port]),
        labels: Some(labels),
        stop_timeout: Some(10),
        host_config: Some(HostConfig {
            nano_cpus: (s.cpu_milli > 0).then(|| s.cpu_milli as i64 * 1_000_000),
            memory: (s.memory_bytes > 0).then_some(s.memory_bytes as i64),
            pids_limit: Some(64),
            readonly_rootfs: Some(true),
            cap_drop: Some(vec!["ALL".to_string()]),
            security_opt: Some(vec!["no-new-privileges".to_string()]),
            network_mode: Some(s.network.to_string()),
            port_bindings: Some(bindings),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default().name(&name).build();
    let created = docker.create_container(Some(opts), body).await?;
    if let Err(e) = docker.start_container(&created.id, None).await {
        let _ = remove(docker, &created.id).await;
        return Err(e);
    }
    Ok(created.id)
}

/// Force-removes a container (kills it if running).
pub async fn remove(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(id, Some(opts)).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

/// Sends SIGKILL to a container (fault injection and tests).
pub async fn kill(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    let opts = KillContainerOptionsBuilder::default()
        .signal("SIGKILL")
        .build();
    docker.kill_container(id, Some(opts)).await
}

/// Stops a container gracefully (SIGTERM, then SIGKILL after `grace_s`).
pub async fn stop(docker: &Docker, id: &str, grace_s: i32) -> Result<(), bollard::errors::Error> {
    let opts = bollard::query_parameters::StopContainerOptionsBuilder::default()
        .t(grace_s)
        .build();
    match docker.stop_container(id, Some(opts)).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 404,
            ..
        }) => Ok(()),
        other => other,
    }
}

/// Freezes every process of a container (the cgroup freezer): it keeps
/// its connections and ports but answers nothing until unpaused.
pub async fn pause(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    docker.pause_container(id).await
}

/// Thaws a paused container.
pub async fn unpause(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    docker.unpause_container(id).await
}

/// Detaches a container from `network`: its published port stops reaching it.
pub async fn disconnect(
    docker: &Docker,
    id: &str,
    network: &str,
) -> Result<(), bollard::errors::Error> {
    let req = bollard::models::NetworkDisconnectRequest {
        container: id.to_string(),
        force: Some(true),
    };
    docker.disconnect_network(network, req).await
}

/// Attaches a container to `network` again.
pub async fn connect(
    docker: &Docker,
    id: &str,
    network: &str,
) -> Result<(), bollard::errors::Error> {
    let req = bollard::models::NetworkConnectRequest {
        container: id.to_string(),
        ..Default::default()
    };
    docker.connect_network(network, req).await
}

/// Changes a running container's CPU limit (`docker update --cpus`).
pub async fn set_cpus(
    docker: &Docker,
    id: &str,
    cpu_milli: u64,
) -> Result<(), bollard::errors::Error> {
    let body = bollard::models::ContainerUpdateBody {
        nano_cpus: Some(cpu_milli as i64 * 1_000_000),
        ..Default::default()
    };
    docker.update_container(id, body).await.map(|_| ())
}

/// The run's network name on every host.
pub fn network_name(run: &str) -> String {
    format!("ork-{run}")
}

/// Creates the run's network if it does not exist.
pub async fn ensure_network(docker: &Docker, run: &str) -> Result<String, bollard::errors::Error> {
    let name = network_name(run);
    let existing = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&label_filter(&[(MANAGED, "true"), (RUN, run)]))
                .build(),
        ))
        .await?;
    if existing
        .iter()
        .any(|n| n.name.as_deref() == Some(name.as_str()))
    {
        return Ok(name);
    }
    let labels: HashMap<String, String> = [(MANAGED, "true"), (RUN, run)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        })
        .await?;
    Ok(name)
}

/// Removes the labelled networks of `run` (every run when `None`); returns how many.
pub async fn remove_networks(
    docker: &Docker,
    run: Option<&str>,
) -> Result<usize, bollard::errors::Error> {
    let mut pairs = vec![(MANAGED, "true")];
    if let Some(r) = run {
        pairs.push((RUN, r));
    }
    let nets = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&label_filter(&pairs))
                .build(),
        ))
        .await?;
    let mut n = 0;
    for net in nets {
        if let Some(id) = net.id {
            docker.remove_network(&id).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Removes every labelled container and network of `run` (every run when `None`).
pub async fn down(
    docker: &Docker,
    run: Option<&str>,
    address: IpAddr,
) -> Result<(usize, usize), bollard::errors::Error> {
    let containers = list(docker, run, address).await?;
    for c in &containers {
        remove(docker, &c.id).await?;
    }
    let networks = remove_networks(docker, run).await?;
    Ok((containers.len(), networks))
}
