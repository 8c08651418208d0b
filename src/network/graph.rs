//! The flow graph: the nodes' capacities, their per-direction flow lists and the
//! arena of flow records (a flow with its owner's payload in one cache line), which
//! the bandwidth models read and rate.

use super::{FlowId, NodeId};
use crate::engine::Time;
use smallvec::SmallVec;
use std::ops::Deref;

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
    pub(super) fn push(&mut self, id: FlowId) {
        self.0.push(id);
    }

    /// Removes `id` by swapping the last id into its place (the order stays a pure
    /// function of the sequence of adds and removes, so it is deterministic).
    #[inline]
    pub(super) fn remove(&mut self, id: FlowId) {
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

/// One slot of the flow arena: the flow and the payload its owner keeps with it
/// ([`super::FlowPayload`]).
///
/// Why one 64-byte aligned record: every event reads and writes a flow's rate, bytes
/// left and the owner's completion bookkeeping together (rates, then completion
/// times, then the uploader's earliest completion); in one cache line that is one
/// miss per flow, where the flow and the owner's per-flow data in two arenas cost two
/// or three. A payload of up to 22 bytes with an alignment of at most 8 keeps the
/// record in one line ([`super::Network::RECORD_BYTES`]).
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub(super) struct FlowSlot<P> {
    pub(super) flow: Flow,
    pub(super) payload: P,
    pub(super) live: bool,
    /// In its uploader's processor-sharing group: then `flow.remaining` holds its
    /// finish tag on the group's clock, and `flow.rate` and `flow.since` are not kept.
    pub(super) grouped: bool,
}

/// One active flow (a transfer in progress).
///
/// For a flow in a processor-sharing group ([`super::Network::is_grouped`]) the fields
/// `remaining`, `rate` and `since` are not kept up to date: read
/// [`super::Network::rate`], [`super::Network::delivered`] and [`super::Network::completion_time`].
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
pub struct FlowGraph<P = ()> {
    /// Upload capacity of each node, bytes per second.
    pub up: Vec<f64>,
    /// Download capacity of each node, bytes per second (may be infinite).
    pub down: Vec<f64>,
    /// Active outgoing flows of each node, except those in a processor-sharing
    /// group ([`super::Network::set_processor_sharing`]).
    pub out_flows: Vec<FlowList>,
    /// Active incoming flows of each node, except those in a processor-sharing
    /// group.
    pub in_flows: Vec<FlowList>,
    /// The flow arena, live and free slots.
    pub(super) slots: Vec<FlowSlot<P>>,
}

impl<P> FlowGraph<P> {
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
        super::set_rate(&mut s.flow, id, rate, now, changed);
    }

    /// One more than the largest flow id in use so far (the size of the arena), for
    /// tables indexed by flow id.
    pub fn flow_id_bound(&self) -> usize {
        self.slots.len()
    }
}
