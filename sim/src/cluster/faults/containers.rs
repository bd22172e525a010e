//! Faults of containers: a bound replica held by a down node or a failing
//! image pull, container crashes (Poisson per replica, stream
//! `failures/container/<svc>`), OOM kills (the core's `MemoryModel` on each
//! load change) and restarts after the kubelet's CrashLoopBackOff.

use orkestra_core::time::SimTime;

use super::super::Event;
use super::Faults;
use crate::engine::Engine;

/// Why a bound replica's container does not start now.
pub(in crate::cluster) enum Held {
    /// It starts.
    No,
    /// Its node is down: the container is dead from the start.
    NodeDown,
    /// Its node is cut off from the control plane: it starts when heard.
    CutOff,
    /// Its image cannot be pulled: it starts when the failure ends.
    ImagePull,
}

impl Faults {
    /// Replica `r` of service `s` was bound to `node` (`cut`: cut off from
    /// the ingress zone): whether, and why, its container must not start.
    pub(in crate::cluster) fn hold_start(
        &mut self,
        r: u32,
        node: u32,
        s: usize,
        cut: bool,
    ) -> Held {
        if self.down[node as usize] > 0 {
            let rec = self.node_record[node as usize];
            self.set_dead(r, true);
            self.records[rec].containers_killed += 1;
            return Held::NodeDown;
        }
        if cut {
            return Held::CutOff;
        }
        if self.image_pull[s].is_some() {
            self.set_dead(r, true);
            self.blocked.push(r);
            return Held::ImagePull;
        }
        Held::No
    }

    /// Replica `r` of service `s` is ready: draw its next container crash
    /// while a `container-crash` fault holds.
    pub(in crate::cluster) fn draw_crash(&mut self, r: u32, s: usize, engine: &mut Engine<Event>) {
        let Some((rate, _)) = self.crash_rate[s] else {
            return;
        };
        let incarnation = self.incarnation(r);
        if let Some(at) =
            orkestra_core::faults::next_container_crash(rate, engine.now(), &mut self.crash_rng[s])
        {
            engine.schedule(
                at,
                Event::ContainerCrash {
                    replica: r,
                    incarnation,
                },
            );
        }
    }

    /// Replica `r` of service `s` now holds `in_flight` requests: its
    /// memory use may have passed its limit (an OOM kill now).
    #[inline]
    pub(in crate::cluster) fn check_oom(
        &self,
        r: u32,
        s: usize,
        in_flight: u32,
        engine: &mut Engine<Event>,
    ) {
        if let Some((m, _)) = self.oom[s]
            && m.oom(in_flight)
            && !self.is_dead(r)
        {
            let incarnation = self.incarnation(r);
            engine.schedule(
                engine.now(),
                Event::ContainerCrash {
                    replica: r,
                    incarnation,
                },
            );
        }
    }

    /// `ContainerCrash` of replica `r` of service `s` drawn at
    /// `incarnation` (`ready`: it is Ready; it holds `in_flight`
    /// requests): the record and reason of its exit, or `None` when it died
    /// or restarted since, or no fault holds any more.
    pub(in crate::cluster) fn crash_cause(
        &self,
        r: u32,
        s: usize,
        incarnation: u32,
        ready: bool,
        in_flight: u32,
    ) -> Option<(usize, &'static str)> {
        if self.incarnation(r) != incarnation || !ready || self.is_dead(r) {
            return None;
        }
        match (self.oom[s], self.crash_rate[s]) {
            (Some((m, rec)), _) if m.oom(in_flight) => Some((rec, "OOMKilled")),
            (_, Some((_, rec))) => Some((rec, "Error")),
            _ => None,
        }
    }

    /// Replica `r`'s container exited at `now` for `reason`: when the
    /// kubelet restarts it, its `container-crash` row's detail, and its
    /// incarnation.
    pub(in crate::cluster) fn exited(
        &mut self,
        r: u32,
        reason: &str,
        now: SimTime,
    ) -> (SimTime, String, u32) {
        let b = self.backoff.entry(r).or_default();
        let at = b.on_exit(now);
        let detail = format!(
            "reason={reason} restarts={} backoff={}",
            b.restarts(),
            b.delay()
        );
        (at, detail, self.incarnation(r))
    }

    /// The kubelet's restart of `r` drawn at `incarnation` is due
    /// (`starting`: the replica still waits to start): its restart count,
    /// or `None` when it is stale.
    pub(in crate::cluster) fn restart(
        &mut self,
        r: u32,
        incarnation: u32,
        starting: bool,
    ) -> Option<u32> {
        if self.incarnation(r) != incarnation || !starting {
            return None;
        }
        self.set_dead(r, false);
        Some(self.backoff.get(&r).map_or(0, |b| b.restarts()))
    }
}
