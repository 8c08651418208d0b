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
//!
//! This file holds the group ([`Group`]) and the network's handling of groups:
//! when they form and dissolve, and how flows join, leave and are rated in them.

use super::{Constraint, Flow, FlowId, FlowPayload, Network, NodeId, advance};
use crate::engine::Time;
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

    /// When the group's next flow finishes at the current rate: `None` if it has no
    /// flow or a zero rate.
    #[inline]
    pub fn next_finish(&self) -> Option<Time> {
        self.head().and_then(|(tag, _)| self.finish_time(tag))
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

impl<P: FlowPayload> Network<P> {
    /// Lets an uploader's flows form a processor-sharing group (see below) once it
    /// has `min_flows` of them (`None`, the default: never); groups form at later
    /// additions.
    ///
    /// An uploader whose flows all go to unlimited downloads gives each of them
    /// `capacity / flows` under both bandwidth models. Once it has at least
    /// `min_flows` such flows (checked when its flow count reaches `min_flows`
    /// times a power of two, and when one of its flows to a limited download ends)
    /// they form a group: the network keeps them on the
    /// group's virtual clock (module `ps`), so a flow joining or leaving costs
    /// O(log n) instead of re-rating every flow, and the model no longer sees them
    /// (they leave [`super::FlowGraph::out_flows`] and [`super::FlowGraph::in_flows`]). A flow to a
    /// limited download dissolves its uploader's group: every flow goes back to its
    /// own record and lists. The rates are the models' to the bit; bytes left and
    /// completion times come from the clock instead of from per-flow byte counts, so
    /// they may differ in the last bits (a completion by a nanosecond).
    pub fn set_processor_sharing(&mut self, min_flows: Option<usize>) {
        self.ps_min_flows = min_flows.map(|m| m.max(1));
        if self.groups.is_empty() && min_flows.is_some() {
            self.groups = (0..self.graph.up.len()).map(|_| None).collect();
        }
    }

    /// True if active flow `id` is in its uploader's processor-sharing group.
    #[inline]
    pub fn is_grouped(&self, id: FlowId) -> bool {
        self.graph.slots[id as usize].grouped
    }

    /// The group of node `n`; panics if it has none (a bug in the network).
    #[inline]
    pub(super) fn group(&self, n: NodeId) -> &Group {
        self.groups[n as usize]
            .as_deref()
            .expect("grouped flows have a group")
    }

    #[inline]
    pub(super) fn group_mut(&mut self, n: NodeId) -> &mut Group {
        self.groups[n as usize]
            .as_deref_mut()
            .expect("grouped flows have a group")
    }

    /// Notes that group `n`'s flow set changed: its rate is set at the next
    /// rebalance.
    pub(super) fn mark_group(&mut self, n: NodeId) {
        let g = self.group_mut(n);
        if !g.dirty {
            g.dirty = true;
            self.dirty_groups.push(n);
        }
    }

    /// Moves node `u`'s flows (all to unlimited downloads) into a new group, each
    /// with its bytes left at `now` as its finish tag (the clock starts at zero).
    fn form_group(&mut self, now: Time, u: NodeId) {
        let mut g = Box::new(Group::new(now));
        let ids = std::mem::take(&mut self.graph.out_flows[u as usize]);
        for &id in &ids {
            let s = &mut self.graph.slots[id as usize];
            advance(&mut s.flow, now);
            let left = s.flow.remaining;
            s.grouped = true;
            s.payload.grouped();
            s.flow.rate = f64::NAN;
            g.insert(id, left);
            let dst = s.flow.dst;
            self.graph.in_flows[dst as usize].remove(id);
        }
        self.groups[u as usize] = Some(g);
        self.n_groups += 1;
        self.mark_group(u);
    }

    /// Ends node `u`'s group: every flow goes back to its own record (bytes left at
    /// `now`, rate zero until the rebalance) and to the lists, and `u`'s upload is
    /// touched so that the model rates them; the next rebalance lists `u` among
    /// [`Network::changed_groups`].
    pub(super) fn dissolve_group(&mut self, now: Time, u: NodeId) {
        let g = self.groups[u as usize].take().expect("a group");
        self.n_groups -= 1;
        self.dissolved.push(u);
        let v = g.clock(now);
        for (tag, id) in g.flows() {
            let s = &mut self.graph.slots[id as usize];
            s.grouped = false;
            s.flow.remaining = (tag - v).max(0.0);
            s.flow.rate = 0.0;
            s.flow.since = now;
            let dst = s.flow.dst;
            self.graph.out_flows[u as usize].push(id);
            self.graph.in_flows[dst as usize].push(id);
        }
        self.touch(Constraint::up(u));
    }

    /// Puts new flow `id` (just given its slot by [`Network::add_flow_with`]) into
    /// its uploader's group.
    #[inline(never)]
    pub(super) fn join_group(&mut self, now: Time, id: FlowId) {
        let (src, bytes) = {
            let f = &self.graph.slots[id as usize].flow;
            (f.src, f.size)
        };
        let g = self.group_mut(src);
        let finish = g.clock(now) + bytes;
        g.insert(id, finish);
        let s = &mut self.graph.slots[id as usize];
        s.grouped = true;
        s.flow.remaining = finish;
        s.flow.rate = f64::NAN;
        self.mark_group(src);
    }

    /// Forms node `u`'s group if it can have one: a finite positive upload and every
    /// flow to an unlimited download.
    #[cold]
    pub(super) fn try_group(&mut self, now: Time, u: NodeId) {
        let up = self.graph.up[u as usize];
        let g = &self.graph;
        if up.is_finite()
            && up > 0.0
            && g.out_flows[u as usize]
                .iter()
                .all(|&f| g.down[g.slots[f as usize].flow.dst as usize].is_infinite())
        {
            self.form_group(now, u);
        }
    }

    /// [`Network::remove_flow`] for a grouped flow (already marked not live).
    pub(super) fn remove_grouped(&mut self, now: Time, id: FlowId) -> f64 {
        let s = &self.graph.slots[id as usize];
        let (src, tag, size) = (s.flow.src, s.flow.remaining, s.flow.size);
        let g = self.group_mut(src);
        let left = g.left(tag, now);
        g.remove(id, tag);
        let s = &mut self.graph.slots[id as usize];
        s.grouped = false;
        s.flow.remaining = left;
        s.flow.rate = 0.0;
        s.flow.since = now;
        self.mark_group(src);
        self.free.push(id);
        self.active -= 1;
        (size - left).clamp(0.0, size)
    }

    /// [`Network::delivered`] for a grouped flow.
    #[cold]
    #[inline(never)]
    pub(super) fn delivered_grouped(&self, f: &Flow, now: Time) -> f64 {
        (f.size - self.group(f.src).left(f.remaining, now)).clamp(0.0, f.size)
    }

    /// Sets the rate of every group whose flow set changed: `capacity / flows`,
    /// what both models give an uploader whose flows all go to unlimited downloads.
    #[inline(never)]
    pub(super) fn rate_groups(&mut self, now: Time) {
        self.changed_groups.clear();
        for k in 0..self.dirty_groups.len() {
            let u = self.dirty_groups[k];
            let up = self.graph.up[u as usize];
            if let Some(g) = self.groups[u as usize].as_deref_mut() {
                g.dirty = false;
                let n = g.len();
                let rate = if n > 0 { up / n as f64 } else { 0.0 };
                g.set_rate(now, rate);
                self.changed_groups.push(u);
            }
        }
        self.dirty_groups.clear();
        // A group that dissolved (and did not form again) is listed too: the next
        // completion its owner filed for it is void, also if none of its flows is
        // left to be rated (all cancelled before this rebalance).
        for k in 0..self.dissolved.len() {
            let u = self.dissolved[k];
            if self.groups[u as usize].is_none() && !self.changed_groups.contains(&u) {
                self.changed_groups.push(u);
            }
        }
        self.dissolved.clear();
    }

    /// [`Network::completion_time`] for a grouped flow.
    #[cold]
    #[inline(never)]
    pub(super) fn completion_grouped(&self, f: &Flow) -> Option<Time> {
        self.group(f.src).finish_time(f.remaining)
    }

    /// The nodes whose group's rate the last [`Network::rebalance`] set, and those
    /// whose group dissolved before it (and has not formed again): their next
    /// completion ([`Network::group_completion`]) may have moved, or is void. A node
    /// listed may have no group.
    #[inline]
    pub fn changed_groups(&self) -> &[NodeId] {
        &self.changed_groups
    }

    /// True if node `n`'s flows form a processor-sharing group (then all of them are
    /// in it, and its outgoing flow list is empty).
    #[inline]
    pub fn has_group(&self, n: NodeId) -> bool {
        self.n_groups > 0 && self.groups[n as usize].is_some()
    }

    /// The flow of node `n`'s group that finishes first (the smallest finish tag;
    /// among equal tags the smallest id); `None` if `n` has no group or an empty one.
    #[inline]
    pub fn group_head(&self, n: NodeId) -> Option<FlowId> {
        self.groups
            .get(n as usize)?
            .as_deref()?
            .head()
            .map(|(_, f)| f)
    }

    /// When the first flow of node `n`'s group finishes at the current rate
    /// ([`Network::completion_time`] of [`Network::group_head`]); `None` if `n` has
    /// no group, an empty one or a zero rate.
    #[inline]
    pub fn group_completion(&self, n: NodeId) -> Option<Time> {
        self.groups.get(n as usize)?.as_deref()?.next_finish()
    }
}
