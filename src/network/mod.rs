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
mod ps;

pub use fast::FastShare;
pub use maxmin::MaxMinFair;

use crate::engine::{Key, Time};
use ps::Group;
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
    /// In its uploader's processor-sharing group: then `flow.remaining` holds its
    /// finish tag on the group's clock, and `flow.rate` and `flow.since` are not kept.
    grouped: bool,
}

/// One active flow (a transfer in progress).
///
/// For a flow in a processor-sharing group ([`Network::is_grouped`]) the fields
/// `remaining`, `rate` and `since` are not kept up to date: read
/// [`Network::rate`], [`Network::delivered`] and [`Network::completion_time`].
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
    /// Active outgoing flows of each node, except those in a processor-sharing
    /// group ([`Network::set_processor_sharing`]).
    pub out_flows: Vec<FlowList>,
    /// Active incoming flows of each node, except those in a processor-sharing
    /// group.
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
    /// Flow count at which an uploader's flows may form a processor-sharing group
    /// (`None`: never; see [`Network::set_processor_sharing`]).
    ps_min_flows: Option<usize>,
    /// Per node: its processor-sharing group, if it has one.
    groups: Vec<Option<Box<Group>>>,
    /// Number of nodes with a group.
    n_groups: usize,
    /// Groups whose flow set changed since the last rebalance.
    dirty_groups: Vec<NodeId>,
    /// Groups whose rate the last rebalance set (see [`Network::move_group_keys`]).
    changed_groups: Vec<NodeId>,
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
            ps_min_flows: None,
            groups: Vec::new(),
            n_groups: 0,
            dirty_groups: Vec::new(),
            changed_groups: Vec::new(),
        }
    }

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
    /// (they leave [`FlowGraph::out_flows`] and [`FlowGraph::in_flows`]). A flow to a
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

    /// The group of node `n`; panics if it has none (a bug in the network).
    #[inline]
    fn group(&self, n: NodeId) -> &Group {
        self.groups[n as usize]
            .as_deref()
            .expect("grouped flows have a group")
    }

    #[inline]
    fn group_mut(&mut self, n: NodeId) -> &mut Group {
        self.groups[n as usize]
            .as_deref_mut()
            .expect("grouped flows have a group")
    }

    /// Notes that group `n`'s flow set changed: its rate is set at the next
    /// rebalance.
    fn mark_group(&mut self, n: NodeId) {
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
            s.key = NO_KEY;
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
    /// touched so that the model rates them.
    fn dissolve_group(&mut self, now: Time, u: NodeId) {
        let g = self.groups[u as usize].take().expect("a group");
        self.n_groups -= 1;
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

    /// Gives every group whose rate the last [`Network::rebalance`] set the key of
    /// its next completion, `(time, draw())` (or [`NO_KEY`] if it has no flow), and
    /// returns those groups' nodes: their earliest key ([`Network::earliest_key`])
    /// changed.
    #[inline]
    pub fn move_group_keys(&mut self, mut draw: impl FnMut() -> u64) -> &[NodeId] {
        for &u in &self.changed_groups {
            if let Some(g) = self.groups[u as usize].as_deref_mut() {
                g.move_key(&mut draw);
            }
        }
        &self.changed_groups
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
        if self.n_groups > 0 && self.groups[src as usize].is_some() {
            if self.graph.down[dst as usize].is_infinite() {
                return self.add_grouped(now, src, dst, bytes, tag);
            }
            self.dissolve_group(now, src);
        }
        let id = self.new_slot(now, src, dst, bytes, tag);
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

    /// A slot for a new flow (its rate zero, its key [`NO_KEY`]), counted active.
    #[inline]
    fn new_slot(&mut self, now: Time, src: NodeId, dst: NodeId, bytes: f64, tag: u32) -> FlowId {
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

    /// [`Network::add_flow_tagged`] into `src`'s group.
    #[inline(never)]
    fn add_grouped(&mut self, now: Time, src: NodeId, dst: NodeId, bytes: f64, tag: u32) -> FlowId {
        let id = self.new_slot(now, src, dst, bytes, tag);
        let g = self.group_mut(src);
        let finish = g.clock(now) + bytes;
        g.insert(id, finish);
        let s = &mut self.graph.slots[id as usize];
        s.grouped = true;
        s.flow.remaining = finish;
        s.flow.rate = f64::NAN;
        self.mark_group(src);
        id
    }

    /// Forms node `u`'s group if it can have one: a finite positive upload and every
    /// flow to an unlimited download.
    #[cold]
    fn try_group(&mut self, now: Time, u: NodeId) {
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

    /// Ends a flow (completed or cancelled) and returns the bytes it delivered. Its
    /// tag and key stay readable until the id is reused.
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

    /// [`Network::remove_flow`] for a grouped flow (already marked not live).
    fn remove_grouped(&mut self, now: Time, id: FlowId) -> f64 {
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

    /// [`Network::delivered`] for a grouped flow.
    #[cold]
    #[inline(never)]
    fn delivered_grouped(&self, f: &Flow, now: Time) -> f64 {
        (f.size - self.group(f.src).left(f.remaining, now)).clamp(0.0, f.size)
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
        if self.n_groups > 0
            && let Some(g) = self.groups[n as usize].as_deref()
        {
            // A grouped node's flows are all in its group.
            debug_assert!(self.graph.out_flows[n as usize].is_empty());
            return match g.head() {
                Some((_, f)) if g.key != NO_KEY => (g.key, f),
                _ => (NO_KEY, 0),
            };
        }
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
    ///
    /// For a grouped flow this moves its group's key instead (its next completion
    /// may have changed) and returns the uploader.
    #[inline]
    pub fn move_key(&mut self, id: FlowId, draw: impl FnOnce() -> u64) -> Option<NodeId> {
        if self.graph.slots[id as usize].grouped {
            return Some(self.move_key_grouped(id, draw));
        }
        let at = self.completion_time(id);
        let s = &mut self.graph.slots[id as usize];
        match at {
            Some(at) => s.key = (at, draw()),
            None if s.key != NO_KEY => s.key = NO_KEY,
            None => return None,
        }
        Some(s.flow.src)
    }

    /// [`Network::move_key`] for a grouped flow: moves its group's key.
    #[cold]
    #[inline(never)]
    fn move_key_grouped(&mut self, id: FlowId, draw: impl FnOnce() -> u64) -> NodeId {
        let src = self.graph.slots[id as usize].flow.src;
        self.group_mut(src).move_key(draw);
        src
    }

    fn flow_mut(&mut self, id: FlowId) -> &mut Flow {
        let s = &mut self.graph.slots[id as usize];
        assert!(s.live, "active flow");
        &mut s.flow
    }

    /// Applies the bandwidth model to the nodes touched since the last call and
    /// returns the flows whose rate changed (their completion times moved). Grouped
    /// flows are never listed: their groups' rates are set here too, and
    /// [`Network::move_group_keys`] then names the groups that changed.
    pub fn rebalance(&mut self, now: Time) -> &[FlowId] {
        self.changed.clear();
        if !self.dirty_groups.is_empty() || !self.changed_groups.is_empty() {
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

    /// Sets the rate of every group whose flow set changed: `capacity / flows`,
    /// what both models give an uploader whose flows all go to unlimited downloads.
    #[inline(never)]
    fn rate_groups(&mut self, now: Time) {
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

    /// [`Network::completion_time`] for a grouped flow.
    #[cold]
    #[inline(never)]
    fn completion_grouped(&self, f: &Flow) -> Option<Time> {
        self.group(f.src).finish_time(f.remaining)
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

    /// A fresh instance of the model for a network of `nodes` nodes.
    pub fn build(self, nodes: usize) -> Box<dyn BandwidthModel> {
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
