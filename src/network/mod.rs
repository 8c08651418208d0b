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

mod fast;
mod maxmin;

pub use fast::FastShare;
pub use maxmin::MaxMinFair;

use crate::engine::{Key, Time};
use smallvec::SmallVec;
use std::ops::Deref;

/// Index of a node: 0 is the server, 1..=N the peers.
pub type NodeId = u32;
/// Index of a flow in the network's arena. Ids are reused after a flow is removed.
pub type FlowId = u32;

/// The key of a flow that has no completion key (see [`Network::key`]); above every
/// real key.
pub const NO_KEY: Key = (Time::MAX, u64::MAX);

/// Flow ids a [`FlowList`] holds without a heap allocation: 14 ids fill one 64-byte
/// cache line. In the 1,000-peer bench swarms a peer sends at most 5 flows
/// and receives more than 14 in 1.5 to 10 % of the additions (endgame duplicates).
const INLINE_FLOWS: usize = 14;

/// A node's active flows in one direction (outgoing or incoming), in the order the
/// additions and swap-removals leave them. Reads as a slice of flow ids.
///
/// Why not a `Vec`: a `Vec` per node costs two cache misses per visit (its header,
/// then its heap buffer, elsewhere); short lists here sit inline, in one aligned
/// cache line. A list that outgrew the inline space goes back inline once it has
/// shrunk to half of it, so a busy moment does not leave it on the heap for good.
#[derive(Clone, Debug, Default)]
#[repr(align(64))]
pub struct FlowList(SmallVec<[FlowId; INLINE_FLOWS]>);

impl FlowList {
    #[inline]
    fn push(&mut self, id: FlowId) {
        self.0.push(id);
    }

    /// Removes `id` by swapping the last id into its place (the order stays a pure
    /// function of the sequence of adds and removes, so it is deterministic).
    #[inline]
    fn remove(&mut self, id: FlowId) {
        let ids = self.0.as_mut_slice();
        if let Some(pos) = ids.iter().position(|&x| x == id) {
            let last = ids.len() - 1;
            ids[pos] = ids[last];
            self.0.truncate(last);
            if self.0.spilled() && last <= INLINE_FLOWS / 2 {
                self.unspill();
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn unspill(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl Deref for FlowList {
    type Target = [FlowId];
    #[inline]
    fn deref(&self) -> &[FlowId] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a FlowList {
    type Item = &'a FlowId;
    type IntoIter = std::slice::Iter<'a, FlowId>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One slot of the flow arena: the flow and what the network's owner keeps with it.
///
/// Why one 64-byte aligned record: every event reads and writes a flow's rate, bytes
/// left and completion key together (rates, then completion times, then the
/// uploader's earliest key); in one cache line that is one miss per flow, where the
/// flow and the owner's per-flow data in two arenas cost two or three.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct FlowSlot {
    flow: Flow,
    key: Key,
    tag: u32,
    live: bool,
}

/// One active flow (a transfer in progress).
#[derive(Clone, Debug)]
pub struct Flow {
    /// Uploading node.
    pub src: NodeId,
    /// Downloading node.
    pub dst: NodeId,
    /// Size of the transfer in bytes.
    pub size: f64,
    /// Bytes still to send, as of time `since`.
    pub remaining: f64,
    /// Current rate in bytes per second.
    pub rate: f64,
    /// Time at which `remaining` was last brought up to date.
    pub since: Time,
}

/// A capacity constraint: the upload side (`2 n`) or the download side (`2 n + 1`) of
/// node `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Constraint(pub u32);

impl Constraint {
    /// The upload constraint of node `n`.
    pub fn up(n: NodeId) -> Constraint {
        Constraint(2 * n)
    }
    /// The download constraint of node `n`.
    pub fn down(n: NodeId) -> Constraint {
        Constraint(2 * n + 1)
    }
    /// The node this constraint belongs to.
    pub fn node(self) -> NodeId {
        self.0 / 2
    }
    /// True for an upload constraint.
    pub fn is_up(self) -> bool {
        self.0.is_multiple_of(2)
    }
}

/// The flows and capacities a bandwidth model allocates over, read-only to the model.
#[derive(Default)]
pub struct FlowGraph {
    /// Upload capacity of each node, bytes per second.
    pub up: Vec<f64>,
    /// Download capacity of each node, bytes per second (may be infinite).
    pub down: Vec<f64>,
    /// Active outgoing flows of each node.
    pub out_flows: Vec<FlowList>,
    /// Active incoming flows of each node.
    pub in_flows: Vec<FlowList>,
    /// The flow arena, live and free slots.
    slots: Vec<FlowSlot>,
}

impl FlowGraph {
    /// Capacity of a constraint, bytes per second.
    pub fn capacity(&self, c: Constraint) -> f64 {
        if c.is_up() {
            self.up[c.node() as usize]
        } else {
            self.down[c.node() as usize]
        }
    }

    /// The active flows through a constraint.
    pub fn flows_of(&self, c: Constraint) -> &[FlowId] {
        if c.is_up() {
            &self.out_flows[c.node() as usize]
        } else {
            &self.in_flows[c.node() as usize]
        }
    }

    /// The other constraint a flow passes through, seen from `c`.
    pub fn other_end(&self, f: FlowId, c: Constraint) -> Constraint {
        let flow = self.flow(f);
        if c.is_up() {
            Constraint::down(flow.dst)
        } else {
            Constraint::up(flow.src)
        }
    }

    /// The flow with id `id`; panics if it is not active (a bug in the caller).
    #[inline]
    pub fn flow(&self, id: FlowId) -> &Flow {
        let s = &self.slots[id as usize];
        assert!(s.live, "active flow");
        &s.flow
    }

    /// The flow with id `id`, or `None` if that id is not active.
    pub fn get(&self, id: FlowId) -> Option<&Flow> {
        self.slots
            .get(id as usize)
            .filter(|s| s.live)
            .map(|s| &s.flow)
    }

    /// Uploader and downloader of flow `id`, active or not (a removed flow's record
    /// stays until its id is reused); panics if the id was never used.
    #[inline]
    pub fn endpoints(&self, id: FlowId) -> (NodeId, NodeId) {
        let f = &self.slots[id as usize].flow;
        (f.src, f.dst)
    }

    /// Asks the processor to bring flow `id`'s record into the cache (a hint; any
    /// id is accepted).
    #[inline]
    pub fn prefetch_record(&self, id: FlowId) {
        if let Some(s) = self.slots.get(id as usize) {
            crate::engine::prefetch(s);
        }
    }

    /// Uploader and downloader of flow `id` if its record exists (see
    /// [`FlowGraph::endpoints`]).
    #[inline]
    pub fn try_endpoints(&self, id: FlowId) -> Option<(NodeId, NodeId)> {
        self.slots
            .get(id as usize)
            .map(|s| (s.flow.src, s.flow.dst))
    }

    /// The active flows with their ids, in id order.
    pub fn flows(&self) -> impl Iterator<Item = (FlowId, &Flow)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.live)
            .map(|(i, s)| (i as FlowId, &s.flow))
    }

    /// Gives active flow `id` the rate `rate` from `now` on. If that changes its rate,
    /// its bytes left are first brought up to `now` and `id` is pushed to `changed`.
    #[inline]
    pub fn set_rate(&mut self, id: FlowId, rate: f64, now: Time, changed: &mut Vec<FlowId>) {
        let s = &mut self.slots[id as usize];
        debug_assert!(s.live, "active flow");
        set_rate(&mut s.flow, id, rate, now, changed);
    }

    /// One more than the largest flow id in use so far (the size of the arena), for
    /// tables indexed by flow id.
    pub fn flow_id_bound(&self) -> usize {
        self.slots.len()
    }
}

/// A rule that sets the rates of flows. Implementations must never let a node's
/// outgoing (incoming) rates sum above its upload (download) capacity.
pub trait BandwidthModel: Send {
    /// Recomputes the rates that may have changed because flows were added to or
    /// removed from the constraints in `touched` (see [`Constraint`]). Pushes
    /// `(flow, new rate)` for every flow whose rate it recomputed (unchanged ones may be
    /// included) into `out`.
    fn reallocate(
        &mut self,
        graph: &FlowGraph,
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
        graph: &mut FlowGraph,
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
/// model that sets their rates.
pub struct Network {
    graph: FlowGraph,
    free: Vec<FlowId>,
    model: Box<dyn BandwidthModel>,
    touched: Vec<Constraint>,
    touched_mark: Vec<bool>,
    new_rates: Vec<(FlowId, f64)>,
    changed: Vec<FlowId>,
    active: usize,
}

impl Network {
    /// A network of nodes with the given upload and download capacities (bytes/s).
    pub fn new(up: Vec<f64>, down: Vec<f64>, model: Box<dyn BandwidthModel>) -> Network {
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
        }
    }

    /// Read access to nodes and flows.
    pub fn graph(&self) -> &FlowGraph {
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

    /// Starts a flow of `bytes` bytes from `src` to `dst`. Its rate is zero until the
    /// next [`Network::rebalance`].
    pub fn add_flow(&mut self, now: Time, src: NodeId, dst: NodeId, bytes: f64) -> FlowId {
        self.add_flow_tagged(now, src, dst, bytes, 0)
    }

    /// As [`Network::add_flow`], and attaches `tag`, a number the network keeps for
    /// its owner beside the flow (the kernel: the chunk) until the slot is reused;
    /// see [`Network::tag`]. The flow starts with key [`NO_KEY`].
    pub fn add_flow_tagged(
        &mut self,
        now: Time,
        src: NodeId,
        dst: NodeId,
        bytes: f64,
        tag: u32,
    ) -> FlowId {
        let slot = FlowSlot {
            flow: Flow {
                src,
                dst,
                size: bytes,
                remaining: bytes,
                rate: 0.0,
                since: now,
            },
            key: NO_KEY,
            tag,
            live: true,
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
        self.graph.out_flows[src as usize].push(id);
        self.graph.in_flows[dst as usize].push(id);
        self.touch(Constraint::up(src));
        self.touch(Constraint::down(dst));
        self.active += 1;
        id
    }

    /// Ends a flow (completed or cancelled) and returns the bytes it delivered. Its
    /// tag and key stay readable until the id is reused.
    pub fn remove_flow(&mut self, now: Time, id: FlowId) -> f64 {
        let slot = &mut self.graph.slots[id as usize];
        assert!(slot.live, "active flow");
        slot.live = false;
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
        delivered
    }

    /// Shrinks an active flow so that `left` bytes remain from `now` on (its size
    /// drops by the difference); its rate is unchanged.
    pub fn shrink_flow(&mut self, now: Time, id: FlowId, left: f64) {
        let flow = self.flow_mut(id);
        advance(flow, now);
        let cut = (flow.remaining - left).max(0.0);
        flow.remaining -= cut;
        flow.size -= cut;
    }

    /// Bytes delivered so far by an active flow, as of `now`.
    #[inline]
    pub fn delivered(&self, id: FlowId, now: Time) -> f64 {
        let f = self.graph.flow(id);
        let sent = f.size - f.remaining + f.rate * now.secs_since(f.since);
        sent.clamp(0.0, f.size)
    }

    /// Bytes an active flow still has to deliver as of `now`: its size less
    /// [`Network::delivered`], computed by that same expression (the same bits).
    #[inline]
    pub fn remaining_bytes(&self, id: FlowId, now: Time) -> f64 {
        self.graph.flow(id).size - self.delivered(id, now)
    }

    /// The tag given to [`Network::add_flow_tagged`] (0 for [`Network::add_flow`]).
    /// Readable for a removed flow until its id is reused.
    #[inline]
    pub fn tag(&self, id: FlowId) -> u32 {
        self.graph.slots[id as usize].tag
    }

    /// The key the owner filed the flow's completion under ([`Network::set_key`]),
    /// [`NO_KEY`] if none. The network only stores it, beside the flow.
    #[inline]
    pub fn key(&self, id: FlowId) -> Key {
        self.graph.slots[id as usize].key
    }

    /// Sets the key of an active flow (see [`Network::key`]).
    #[inline]
    pub fn set_key(&mut self, id: FlowId, key: Key) {
        let s = &mut self.graph.slots[id as usize];
        debug_assert!(s.live, "active flow");
        s.key = key;
    }

    /// The smallest key among node `n`'s outgoing flows and that flow, or
    /// `(NO_KEY, 0)` when none has a key. Keys are distinct, so the flow is unique.
    #[inline]
    pub fn earliest_key(&self, n: NodeId) -> (Key, FlowId) {
        let mut best = NO_KEY;
        let mut next = 0;
        for &f in &self.graph.out_flows[n as usize] {
            let k = self.graph.slots[f as usize].key;
            if k < best {
                best = k;
                next = f;
            }
        }
        (best, next)
    }

    /// Brings an active flow's key in line with its rate: a new key `(completion
    /// time, draw())` if the rate is positive, [`NO_KEY`] if it is zero. Returns the
    /// flow's uploader if the key changed, `None` if it stayed [`NO_KEY`] (then
    /// `draw` is not called).
    #[inline]
    pub fn move_key(&mut self, id: FlowId, draw: impl FnOnce() -> u64) -> Option<NodeId> {
        let at = self.completion_time(id);
        let s = &mut self.graph.slots[id as usize];
        match at {
            Some(at) => s.key = (at, draw()),
            None if s.key != NO_KEY => s.key = NO_KEY,
            None => return None,
        }
        Some(s.flow.src)
    }

    fn flow_mut(&mut self, id: FlowId) -> &mut Flow {
        let s = &mut self.graph.slots[id as usize];
        assert!(s.live, "active flow");
        &mut s.flow
    }

    /// Applies the bandwidth model to the nodes touched since the last call and
    /// returns the flows whose rate changed (their completion times moved).
    pub fn rebalance(&mut self, now: Time) -> &[FlowId] {
        self.changed.clear();
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
    pub fn completion_time(&self, id: FlowId) -> Option<Time> {
        let f = self.graph.flow(id);
        if f.rate <= 0.0 {
            return None;
        }
        let dt = Time::from_secs_ceil(f.remaining.max(0.0) / f.rate).unwrap_or(Time::MAX);
        Some(f.since.checked_add(dt).unwrap_or(Time::MAX))
    }

    /// Sum of the rates of all active flows (in id order), bytes per second.
    pub fn total_rate(&self) -> f64 {
        self.graph.flows().map(|(_, f)| f.rate).sum()
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

    /// A fresh instance of the model for a network of `nodes` nodes.
    pub fn build(self, nodes: usize) -> Box<dyn BandwidthModel> {
        match self {
            ModelKind::MaxMin => Box::new(MaxMinFair::new(nodes)),
            ModelKind::Fast => Box::new(FastShare),
        }
    }
}

#[cfg(test)]
mod tests;
