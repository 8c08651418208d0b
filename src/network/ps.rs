//! Processor-sharing groups: the flows of one uploader that all share its capacity
//! equally, kept on a virtual clock so that an event costs O(log n), not O(n).
//!
//! When every flow of an uploader goes to an unlimited download, both bandwidth
//! models give each of them `capacity / flows`: the flows are served in processor
//! sharing. Instead of bringing every flow's bytes up to date at each change of the
//! flow count (which changes every flow's rate), the group keeps one virtual clock,
//! the service `V(t)` each of its flows has received since a reference time, as in
//! fluid fair queueing (generalised processor sharing). `V` advances at the common
//! rate; a flow that joins at time `s` with `b` bytes gets the finish tag
//! `V(s) + b`, finishes when `V` reaches its tag, and has `tag - V(t)` bytes left at
//! time `t`. A flow joining or leaving changes the rate from then on (`V` is brought
//! up to date once), and the next completion is the smallest tag, from an ordered
//! set.

use super::FlowId;
use crate::engine::{Key, Time};
use std::collections::BTreeSet;

/// The processor-sharing group of one uploader (see the module docs).
#[derive(Debug)]
pub(super) struct Group {
    /// Rate of every flow of the group since `t_ref`, bytes per second.
    rate: f64,
    /// Time at which `v_ref` was taken.
    t_ref: Time,
    /// The virtual clock at `t_ref`: service per flow, bytes.
    v_ref: f64,
    /// Finish tags (their bits: non-negative floats order as their bits) and flows.
    tags: BTreeSet<(u64, FlowId)>,
    /// The key under which the owner filed the group's next completion, or
    /// [`super::NO_KEY`] (see [`super::Network::move_group_keys`]).
    pub key: Key,
    /// Its flow set changed since the last rebalance.
    pub dirty: bool,
}

impl Group {
    /// An empty group whose clock starts at zero at `now`.
    pub fn new(now: Time) -> Group {
        Group {
            rate: 0.0,
            t_ref: now,
            v_ref: 0.0,
            tags: BTreeSet::new(),
            key: super::NO_KEY,
            dirty: false,
        }
    }

    /// Number of flows in the group.
    #[inline]
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// The rate of every flow of the group.
    #[inline]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The virtual clock at `now`: service per flow since the clock started.
    #[inline]
    pub fn clock(&self, now: Time) -> f64 {
        self.v_ref + self.rate * now.secs_since(self.t_ref)
    }

    /// Gives every flow the rate `rate` from `now` on. An empty group restarts its
    /// clock at zero (so that the clock, and with it the rounding of the tags, stays
    /// as small as the group's work allows).
    pub fn set_rate(&mut self, now: Time, rate: f64) {
        self.v_ref = if self.tags.is_empty() {
            0.0
        } else {
            self.clock(now)
        };
        self.t_ref = now;
        self.rate = rate;
    }

    /// Adds flow `id` with finish tag `tag` (at least zero).
    pub fn insert(&mut self, id: FlowId, tag: f64) {
        debug_assert!(tag >= 0.0);
        // (`+ 0.0` turns a negative zero into a positive one, whose bits order.)
        self.tags.insert(((tag + 0.0).to_bits(), id));
    }

    /// Removes flow `id`, whose finish tag is `tag`.
    pub fn remove(&mut self, id: FlowId, tag: f64) {
        let found = self.tags.remove(&((tag + 0.0).to_bits(), id));
        debug_assert!(found, "flow {id} is in the group");
    }

    /// The flow with the smallest finish tag (ties: the smallest id), and its tag.
    #[inline]
    pub fn head(&self) -> Option<(f64, FlowId)> {
        self.tags.first().map(|&(t, id)| (f64::from_bits(t), id))
    }

    /// The flows and their tags in tag order.
    pub fn flows(&self) -> impl Iterator<Item = (f64, FlowId)> + '_ {
        self.tags.iter().map(|&(t, id)| (f64::from_bits(t), id))
    }

    /// Sets the key of the group's next completion: `(time, draw())`, or
    /// [`super::NO_KEY`] if it has no flow or a zero rate.
    pub fn move_key(&mut self, draw: impl FnOnce() -> u64) {
        self.key = match self.head().and_then(|(tag, _)| self.finish_time(tag)) {
            Some(at) => (at, draw()),
            None => super::NO_KEY,
        };
    }

    /// Bytes left at `now` for a flow with finish tag `tag`.
    #[inline]
    pub fn left(&self, tag: f64, now: Time) -> f64 {
        (tag - self.clock(now)).max(0.0)
    }

    /// When a flow with finish tag `tag` finishes at the current rate (`None` if the
    /// rate is zero): `t_ref + (tag - V(t_ref)) / rate`, rounded up to the
    /// nanosecond as [`super::Network::completion_time`] rounds.
    #[inline]
    pub fn finish_time(&self, tag: f64) -> Option<Time> {
        if self.rate <= 0.0 {
            return None;
        }
        let left = (tag - self.v_ref).max(0.0);
        let dt = Time::from_secs_ceil(left / self.rate).unwrap_or(Time::MAX);
        Some(self.t_ref.checked_add(dt).unwrap_or(Time::MAX))
    }
}
