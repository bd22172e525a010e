//! Orkestra's live backend: the core's controllers and balancers driving
//! real containers on real Docker engines.
//!
//! Key decision: this crate contains *no policy*. Each tick it builds an
//! [`orkestra_core::model::ObservedCluster`] from the engines, calls the very
//! functions the simulator calls — [`orkestra_core::controller::reconcile_replicas`],
//! [`orkestra_core::placement::schedule`] with a placer from
//! [`orkestra_core::registry`] — and turns the returned
//! [`orkestra_core::action::Action`]s into Docker API calls. Requests are
//! balanced by the same [`orkestra_core::balance::Balance`] structs, and
//! results are written with the same `orkestra_core::results` writers, so a
//! live run and a simulated run of one scenario land in identical folders.
//!
//! # Module plan (live-mode issue)
//!
//! | module | role |
//! |---|---|
//! | `hosts` | hosts file (TOML): name, endpoint (`unix://` / `tcp://` + TLS), zone, capacity override; bollard connection, API-version and reachability check with a clear error. Without a hosts file the local engine is the only host. |
//! | `workload` | the `orkestra-workload` binary: tokio HTTP/1.1 server embodying a service (service-time distribution as CPU burn or sleep, `concurrency` with a queue, `/healthz`, `/readyz`, `/metrics`). |
//! | `image` | builds the workload image `FROM scratch` from a static build of that binary (no registry), tagged with the tool version; copies it to other engines (export → import). |
//! | `reconciler` | tokio interval + Docker events stream (die/oom wake it): observe labelled containers (`orkestra.run`, `.service`, `.replica`, `.revision`), call the core controllers, apply actions with bollard (NanoCpus, Memory, PidsLimit, read-only, cap-drop ALL, one network per run per host); adopts running containers on restart. |
//! | `proxy` | one reverse proxy per service on 127.0.0.1; endpoints = ready containers' published ports on the host's address, never bridge IPs; picks with the core balancers. |
//! | `loadgen` | open-loop load generator driven by the scenario's traffic model (`orkestra_core::traffic::Arrivals` on the wall clock). |
//!
//! Invariant: only this crate talks to Docker, and all test traffic goes to
//! ports published on `127.0.0.1`.
#![warn(missing_docs)]

pub mod autoscaling;
pub mod controller;
pub mod docker;
pub mod faults;
pub mod hosts;
pub mod image;
pub mod live;
pub mod loadgen;
pub mod proxy;
