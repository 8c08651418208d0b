//! The [`Protocol`] trait: what a protocol implements to run on the [`Sim`] kernel.

use super::{Sim, Transfer};
use crate::network::{FlowId, NodeId};

/// The timer type of a protocol that sets no timer (it has no value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTimer {}

/// A protocol: reacts to arrivals, finished transfers and its own timers by starting
/// and cancelling transfers through the [`Sim`] kernel.
pub trait Protocol {
    /// What the protocol's timers and delayed messages carry ([`NoTimer`] if it
    /// sets none): the kernel stores it in the event queue and hands it back to
    /// [`Protocol::on_timer`] when it fires, knowing nothing of its meaning.
    type Timer;
    /// Peer `p` has joined.
    fn on_arrival(&mut self, sim: &mut Sim<Self::Timer>, p: u32);
    /// Flow `f` finished; its bytes are already counted in the metrics.
    fn on_transfer_done(&mut self, sim: &mut Sim<Self::Timer>, f: FlowId, t: Transfer);
    /// A timer set with [`Sim::set_timer`] fired.
    fn on_timer(&mut self, _sim: &mut Sim<Self::Timer>, _timer: Self::Timer) {}
    /// Copies of the rarest chunk among present peers, for the time series.
    fn rarest_copies(&self, _sim: &Sim<Self::Timer>) -> Option<u32> {
        None
    }
    /// A hint that a transfer from `src` to `dst` will probably finish soon, so that
    /// the protocol may ask the processor to fetch what it will read then (it must
    /// not change any state). At each finished transfer the kernel calls it for the
    /// events that probably come next: with `deep` false for the one two events
    /// ahead (the kernel's records for the pair are being fetched at the same
    /// time), with `deep` true for the one after the current event, when what the
    /// first call fetched is probably cached and what it points to may be asked for.
    fn prefetch(&self, _src: NodeId, _dst: NodeId, _deep: bool) {}
    /// True if the kernel may keep an uploader's flows in a processor-sharing group
    /// once it has [`PS_MIN_FLOWS`] of them, all to unlimited downloads
    /// ([`crate::network::Network::set_processor_sharing`]): events then cost O(log n) in the
    /// uploader's flow count instead of O(n). Grouped flows are absent from the
    /// per-node flow lists ([`crate::network::FlowGraph::out_flows`],
    /// [`crate::network::FlowGraph::in_flows`]) and their records do not hold
    /// their rate ([`crate::network::Network::rate`] does), so a protocol that reads those answers
    /// false, the default.
    fn processor_sharing(&self) -> bool {
        false
    }
}

/// The number of flows to unlimited downloads from which an uploader's flows form a
/// processor-sharing group (see [`Protocol::processor_sharing`]). Below it the
/// per-flow bookkeeping costs less; no shipped, validation or 1,000-peer bench
/// scenario reaches it, so their results are those of the per-flow bookkeeping.
pub const PS_MIN_FLOWS: usize = 64;
