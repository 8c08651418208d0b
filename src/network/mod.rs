//! The fluid flow model of the network.
//!
//! Every chunk transfer is a *flow* from an uploader to a downloader with bytes left.
//! A [`BandwidthModel`] gives every active flow a rate such that, for every node, the
//! sum of its outgoing rates is at most its upload capacity and the sum of its incoming
//! rates is at most its download capacity. Rates change only when the model asks for a
//! [`Network::rebalance`] (a flow started or ended); the caller then moves the
//! completion events of the flows whose rate changed.
//!
//! This module knows nodes and flows, never peers, chunks or protocols, and it never
//! touches the event queue: it reports which flows changed and when they will finish.
//! What its owner keeps per flow (the kernel: the chunk and where the completion is
//! filed) is a payload of the owner's type ([`FlowPayload`]), stored in the flow's
//! record and never read here.
//!
//! Files: this one holds [`Network`] (adding, removing and rating flows);
//! `graph` the flow graph the models read ([`FlowGraph`], [`FlowList`], [`Flow`],
//! [`Constraint`]); `ps` the processor-sharing groups; `fast` and `maxmin` the two
//! bandwidth models.

mod fast;
mod graph;
mod maxmin;
mod ps;

pub use fast::FastShare;
pub use graph::{Constraint, Flow, FlowGraph, FlowList};
pub use maxmin::MaxMinFair;

use crate::engine::Time;
use graph::FlowSlot;
use ps::Group;

/// Index of a node: 0 is the server, 1..=N the peers.
pub type NodeId = u32;
/// Index of a flow in the network's arena. Ids are reused after a flow is removed.
pub type FlowId = u32;

/// What the network's owner keeps with each flow, in the flow's own record (one
/// cache line with the rate and bytes left its completion follows from; see
/// [`Network::RECORD_BYTES`]). The network stores it, hands it out
/// ([`Network::payload`], [`Network::payload_mut`]) and keeps it readable after the
/// flow ends until the id is reused; it reads nothing in it.
pub trait FlowPayload: Copy {
    /// The flow has joined its uploader's processor-sharing group: from now on the
    /// group's next completion ([`Network::group_completion`]) stands for the flow's
    /// own, so whatever the owner filed for the flow alone is void. Called once per
    /// flow when a group forms (a flow added to an existing group is never filed
    /// alone).
    fn grouped(&mut self);
}

/// The payload of a network whose owner keeps nothing per flow.
impl FlowPayload for () {
    #[inline]
    fn grouped(&mut self) {}
}

/// A rule that sets the rates of flows. Implementations must never let a node's
/// outgoing (incoming) rates sum above its upload (download) capacity.
///
/// `P` is the network's flow payload ([`FlowPayload`]); the models never read it, and
/// the shipped ones rate a network of any payload.
pub trait BandwidthModel<P = ()>: Send {
    /// Recomputes the rates that may have changed because flows were added to or
    /// removed from the constraints in `touched` (see [`Constraint`]). Pushes
    /// `(flow, new rate)` for every flow whose rate it recomputed (unchanged ones may be
    /// included) into `out`.
    fn reallocate(
        &mut self,
        graph: &FlowGraph<P>,
        touched: &[Constraint],
        out: &mut Vec<(FlowId, f64)>,
    );

    /// Recomputes the rates as [`BandwidthModel::reallocate`] would and gives them to
    /// the flows: every flow whose rate changes is brought up to `now` and pushed into
    /// `changed` ([`FlowGraph::set_rate`]). The default runs `reallocate` into
    /// `scratch` and then sets the rates; a model whose rates depend only on the flow
    /// sets and capacities (never on other flows' rates) may set them as it computes
    /// them, which spares a pass over a buffer.
    fn apply(
        &mut self,
        graph: &mut FlowGraph<P>,
        touched: &[Constraint],
        now: Time,
        scratch: &mut Vec<(FlowId, f64)>,
        changed: &mut Vec<FlowId>,
    ) {
        scratch.clear();
        self.reallocate(graph, touched, scratch);
        for &(id, rate) in scratch.iter() {
            graph.set_rate(id, rate, now, changed);
        }
    }

    /// Short name used in outputs (`max-min`, `fast`).
    fn name(&self) -> &'static str;
}

/// A set of nodes with capacities, the active flows between them and the bandwidth
/// model that sets their rates; `P` is what the owner keeps with each flow
/// ([`FlowPayload`]).
pub struct Network<P = ()> {
    graph: FlowGraph<P>,
    free: Vec<FlowId>,
    model: Box<dyn BandwidthModel<P>>,
    touched: Vec<Constraint>,
    touched_mark: Vec<bool>,
    new_rates: Vec<(FlowId, f64)>,
    changed: Vec<FlowId>,
    active: usize,
    /// Flow count at which an uploader's flows may form a processor-sharing group
    /// (`None`: never; see [`Network::set_processor_sharing`]).
    ps_min_flows: Option<usize>,
    /// Per node: its processor-sharing group, if it has one.
    groups: Vec<Option<Box<Group>>>,
    /// Number of nodes with a group.
    n_groups: usize,
    /// Groups whose flow set changed since the last rebalance.
    dirty_groups: Vec<NodeId>,
    /// Groups whose rate the last rebalance set (see [`Network::changed_groups`]).
    changed_groups: Vec<NodeId>,
    /// Nodes whose group dissolved since the last rebalance.
    dissolved: Vec<NodeId>,
}

impl<P: FlowPayload> Network<P> {
    /// Bytes of one flow record (the flow and its payload): 64, one cache line, for
    /// a payload of up to 22 bytes aligned to at most 8.
    pub const RECORD_BYTES: usize = std::mem::size_of::<FlowSlot<P>>();

    /// A network of nodes with the given upload and download capacities (bytes/s).
    pub fn new(up: Vec<f64>, down: Vec<f64>, model: Box<dyn BandwidthModel<P>>) -> Network<P> {
        assert_eq!(up.len(), down.len());
        let n = up.len();
        Network {
            graph: FlowGraph {
                up,
                down,
                out_flows: vec![FlowList::default(); n],
                in_flows: vec![FlowList::default(); n],
                slots: Vec::new(),
            },
            free: Vec::new(),
            model,
            touched: Vec::new(),
            touched_mark: vec![false; 2 * n],
            new_rates: Vec::new(),
            changed: Vec::new(),
            active: 0,
            ps_min_flows: None,
            groups: Vec::new(),
            n_groups: 0,
            dirty_groups: Vec::new(),
            changed_groups: Vec::new(),
            dissolved: Vec::new(),
        }
    }

    /// Number of active outgoing flows of node `n`, grouped or not.
    #[inline]
    pub fn uploads(&self, n: NodeId) -> usize {
        let listed = self.graph.out_flows[n as usize].len();
        if self.n_groups == 0 {
            return listed;
        }
        listed + self.groups[n as usize].as_ref().map_or(0, |g| g.len())
    }

    /// The current rate of active flow `id`, bytes per second.
    #[inline]
    pub fn rate(&self, id: FlowId) -> f64 {
        let s = &self.graph.slots[id as usize];
        assert!(s.live, "active flow");
        if s.grouped {
            self.group(s.flow.src).rate()
        } else {
            s.flow.rate
        }
    }

    /// Read access to nodes and flows.
    pub fn graph(&self) -> &FlowGraph<P> {
        &self.graph
    }

    /// The name of the bandwidth model.
    pub fn model_name(&self) -> &'static str {
        self.model.name()
    }

    /// Number of active flows.
    pub fn active_flows(&self) -> usize {
        self.active
    }

    /// Starts a flow of `bytes` bytes from `src` to `dst` with the default payload.
    /// Its rate is zero until the next [`Network::rebalance`].
    pub fn add_flow(&mut self, now: Time, src: NodeId, dst: NodeId, bytes: f64) -> FlowId
    where
        P: Default,
    {
        self.add_flow_with(now, src, dst, bytes, P::default())
    }

    /// As [`Network::add_flow`], with `payload` kept in the flow's record for its
    /// owner ([`Network::payload`]).
    pub fn add_flow_with(
        &mut self,
        now: Time,
        src: NodeId,
        dst: NodeId,
        bytes: f64,
        payload: P,
    ) -> FlowId {
        if self.n_groups > 0 && self.groups[src as usize].is_some() {
            if self.graph.down[dst as usize].is_infinite() {
                let id = self.new_slot(now, src, dst, bytes, payload);
                self.join_group(now, id);
                return id;
            }
            self.dissolve_group(now, src);
        }
        let id = self.new_slot(now, src, dst, bytes, payload);
        self.graph.out_flows[src as usize].push(id);
        self.graph.in_flows[dst as usize].push(id);
        self.touch(Constraint::up(src));
        self.touch(Constraint::down(dst));
        if let Some(min) = self.ps_min_flows {
            let n = self.graph.out_flows[src as usize].len();
            if n >= min && n.is_multiple_of(min) && (n / min).is_power_of_two() {
                self.try_group(now, src);
            }
        }
        id
    }

    /// A slot for a new flow (its rate zero), counted active.
    #[inline]
    fn new_slot(&mut self, now: Time, src: NodeId, dst: NodeId, bytes: f64, payload: P) -> FlowId {
        let slot = FlowSlot {
            flow: Flow {
                src,
                dst,
                size: bytes,
                remaining: bytes,
                rate: 0.0,
                since: now,
            },
            payload,
            live: true,
            grouped: false,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.graph.slots[id as usize] = slot;
                id
            }
            None => {
                self.graph.slots.push(slot);
                (self.graph.slots.len() - 1) as FlowId
            }
        };
        self.active += 1;
        id
    }

    /// Ends a flow (completed or cancelled) and returns the bytes it delivered. Its
    /// endpoints and payload stay readable until the id is reused.
    pub fn remove_flow(&mut self, now: Time, id: FlowId) -> f64 {
        let slot = &mut self.graph.slots[id as usize];
        assert!(slot.live, "active flow");
        slot.live = false;
        if slot.grouped {
            return self.remove_grouped(now, id);
        }
        let flow = &mut slot.flow;
        advance(flow, now);
        let delivered = (flow.size - flow.remaining).clamp(0.0, flow.size);
        let (src, dst) = (flow.src, flow.dst);
        self.graph.out_flows[src as usize].remove(id);
        self.graph.in_flows[dst as usize].remove(id);
        self.touch(Constraint::up(src));
        self.touch(Constraint::down(dst));
        self.free.push(id);
        self.active -= 1;
        if let Some(min) = self.ps_min_flows
            && self.graph.out_flows[src as usize].len() >= min
            && !self.graph.down[dst as usize].is_infinite()
        {
            // The flow that kept its uploader from grouping may have been this one.
            self.try_group(now, src);
        }
        delivered
    }

    /// Shrinks an active flow so that `left` bytes remain from `now` on (its size
    /// drops by the difference); its rate is unchanged.
    pub fn shrink_flow(&mut self, now: Time, id: FlowId, left: f64) {
        if self.is_grouped(id) {
            let s = &self.graph.slots[id as usize];
            let (src, tag) = (s.flow.src, s.flow.remaining);
            let g = self.group_mut(src);
            let cut = (g.left(tag, now) - left).max(0.0);
            if cut > 0.0 {
                g.remove(id, tag);
                g.insert(id, tag - cut);
                let f = &mut self.graph.slots[id as usize].flow;
                f.remaining = tag - cut;
                f.size -= cut;
            }
            return;
        }
        let flow = self.flow_mut(id);
        advance(flow, now);
        let cut = (flow.remaining - left).max(0.0);
        flow.remaining -= cut;
        flow.size -= cut;
    }

    /// Grows an active flow by `extra` bytes from `now` on (more of the same
    /// stream); its rate is unchanged.
    pub fn grow_flow(&mut self, now: Time, id: FlowId, extra: f64) {
        if self.is_grouped(id) {
            // A grouped flow's `remaining` is its finish tag on the group's clock:
            // the tag moves to `extra` past the bytes left now (none if it is
            // already due, as a per-flow record's remaining stops at zero), in the
            // group's ordered set too.
            let s = &self.graph.slots[id as usize];
            let (src, tag) = (s.flow.src, s.flow.remaining);
            let g = self.group_mut(src);
            let grown = tag.max(g.clock(now)) + extra;
            g.remove(id, tag);
            g.insert(id, grown);
            let f = &mut self.graph.slots[id as usize].flow;
            f.remaining = grown;
            f.size += extra;
            return;
        }
        let flow = self.flow_mut(id);
        advance(flow, now);
        flow.remaining += extra;
        flow.size += extra;
    }

    /// Bytes delivered so far by an active flow, as of `now`.
    #[inline]
    pub fn delivered(&self, id: FlowId, now: Time) -> f64 {
        let f = self.graph.flow(id);
        if self.graph.slots[id as usize].grouped {
            return self.delivered_grouped(f, now);
        }
        let sent = f.size - f.remaining + f.rate * now.secs_since(f.since);
        sent.clamp(0.0, f.size)
    }

    /// Bytes an active flow still has to deliver as of `now`: its size less
    /// [`Network::delivered`], computed by that same expression (the same bits).
    #[inline]
    pub fn remaining_bytes(&self, id: FlowId, now: Time) -> f64 {
        self.graph.flow(id).size - self.delivered(id, now)
    }

    /// The payload of flow `id` ([`FlowPayload`]), also of a removed flow until its
    /// id is reused.
    #[inline]
    pub fn payload(&self, id: FlowId) -> &P {
        &self.graph.slots[id as usize].payload
    }

    /// The payload of active flow `id`, to change.
    #[inline]
    pub fn payload_mut(&mut self, id: FlowId) -> &mut P {
        let s = &mut self.graph.slots[id as usize];
        debug_assert!(s.live, "active flow");
        &mut s.payload
    }

    fn flow_mut(&mut self, id: FlowId) -> &mut Flow {
        let s = &mut self.graph.slots[id as usize];
        assert!(s.live, "active flow");
        &mut s.flow
    }

    /// Applies the bandwidth model to the nodes touched since the last call and
    /// returns the flows whose rate changed (their completion times moved). Grouped
    /// flows are never listed: their groups' rates are set here too, and
    /// [`Network::changed_groups`] then names the groups that changed.
    pub fn rebalance(&mut self, now: Time) -> &[FlowId] {
        self.changed.clear();
        if !self.dirty_groups.is_empty()
            || !self.changed_groups.is_empty()
            || !self.dissolved.is_empty()
        {
            self.rate_groups(now);
        }
        if self.touched.is_empty() {
            return &self.changed;
        }
        self.model.apply(
            &mut self.graph,
            &self.touched,
            now,
            &mut self.new_rates,
            &mut self.changed,
        );
        for &c in &self.touched {
            self.touched_mark[c.0 as usize] = false;
        }
        self.touched.clear();
        // Report in flow order, so that the order in which completion events are
        // moved (and so the order of equal-time events) does not depend on the model.
        self.changed.sort_unstable();
        &self.changed
    }

    /// When the flow will finish at its current rate, or `None` if its rate is zero.
    /// Rounded up to the nanosecond; saturates at [`Time::MAX`].
    #[inline]
    pub fn completion_time(&self, id: FlowId) -> Option<Time> {
        let f = self.graph.flow(id);
        if self.graph.slots[id as usize].grouped {
            return self.completion_grouped(f);
        }
        if f.rate <= 0.0 {
            return None;
        }
        let dt = Time::from_secs_ceil(f.remaining.max(0.0) / f.rate).unwrap_or(Time::MAX);
        Some(f.since.checked_add(dt).unwrap_or(Time::MAX))
    }

    /// Sum of the rates of all active flows (in id order), bytes per second.
    pub fn total_rate(&self) -> f64 {
        if self.n_groups == 0 {
            return self.graph.flows().map(|(_, f)| f.rate).sum();
        }
        let single: f64 = self
            .graph
            .slots
            .iter()
            .filter(|s| s.live && !s.grouped)
            .map(|s| s.flow.rate)
            .sum();
        let grouped: f64 = self
            .groups
            .iter()
            .flatten()
            .map(|g| g.rate() * g.len() as f64)
            .sum();
        single + grouped
    }

    fn touch(&mut self, c: Constraint) {
        if !self.touched_mark[c.0 as usize] {
            self.touched_mark[c.0 as usize] = true;
            self.touched.push(c);
        }
    }
}

/// See [`FlowGraph::set_rate`].
#[inline]
fn set_rate(flow: &mut Flow, id: FlowId, rate: f64, now: Time, changed: &mut Vec<FlowId>) {
    if flow.rate != rate {
        advance(flow, now);
        flow.rate = rate;
        changed.push(id);
    }
}

fn advance(flow: &mut Flow, now: Time) {
    if now > flow.since {
        flow.remaining -= flow.rate * now.secs_since(flow.since);
        if flow.remaining < 0.0 {
            flow.remaining = 0.0;
        }
        flow.since = now;
    }
}

/// The bandwidth models a scenario can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Exact max-min fair sharing ([`MaxMinFair`]).
    MaxMin,
    /// Equal split at both ends ([`FastShare`]).
    Fast,
}

impl ModelKind {
    /// Every model with its name in scenario files and outputs: the one table the
    /// parser, the printer and the error message listing the allowed values read.
    pub const ALL: [(&'static str, ModelKind); 2] =
        [("max-min", ModelKind::MaxMin), ("fast", ModelKind::Fast)];

    /// The name used in scenario files and outputs.
    pub fn name(self) -> &'static str {
        ModelKind::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| n)
    }

    /// A fresh instance of the model for a network of `nodes` nodes whose flows
    /// carry payloads of type `P`.
    pub fn build<P: FlowPayload>(self, nodes: usize) -> Box<dyn BandwidthModel<P>> {
        match self {
            ModelKind::MaxMin => Box::new(MaxMinFair::new(nodes)),
            ModelKind::Fast => Box::new(FastShare),
        }
    }
}

#[cfg(test)]
mod ps_tests;
#[cfg(test)]
mod tests;
