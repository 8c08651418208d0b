//! The fast bandwidth model: equal split at both ends.

use super::{BandwidthModel, Constraint, FlowGraph, FlowId, FlowList, FlowSlot, set_rate};
use crate::engine::Time;

/// A constraint's equal share: `capacity / flows`.
#[inline]
fn share(capacity: f64, flows: usize) -> f64 {
    capacity / flows as f64
}

/// The share of download `down` with `flows` flows. An unlimited download's share is
/// infinite whatever its flow count (which is at least one here), so its flow list
/// is not read: one cache miss less per flow in a large swarm.
#[inline]
fn down_share(down: f64, flows: impl FnOnce() -> usize) -> f64 {
    if down.is_infinite() {
        down
    } else {
        share(down, flows())
    }
}

/// Each uploader splits its upload capacity equally over its active uploads, each
/// downloader splits its download capacity equally over its active downloads, and a
/// flow gets the smaller of its two shares:
///
/// `rate(u -> v) = min(up_u / uploads(u), down_v / downloads(v))`.
///
/// No capacity is ever exceeded (each flow takes at most an equal share at both ends).
/// A rate depends only on the two endpoints' flow counts, so an event costs O(degree)
/// of the two nodes it touches. Where no download capacity binds this equals max-min
/// fair sharing; where one does, the capacity a capped flow leaves unused at the
/// other end is *not* handed to the other flows there (max-min would), so the fast
/// model can be slower than max-min, never faster.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastShare;

/// Where [`shares`] reads a flow's far end and puts its rate: a buffer
/// (`reallocate`) or the flow records themselves (`apply`).
trait RateSink {
    /// The far end of flow `f` from the constraint being evaluated: its downloader
    /// if `from_up`, else its uploader.
    fn far_end(&mut self, f: FlowId, from_up: bool) -> usize;
    /// Flow `f`'s new rate.
    fn rate(&mut self, f: FlowId, rate: f64);
}

/// The fast model's rates of the flows at the touched constraints, in constraint
/// then list order, handed to `sink`: the one loop both entry points share.
fn shares(
    up: &[f64],
    down: &[f64],
    out_flows: &[FlowList],
    in_flows: &[FlowList],
    touched: &[Constraint],
    sink: &mut impl RateSink,
) {
    for &c in touched {
        // The share of the constraint's own node is the same for all its flows:
        // computed once. At the far end an unlimited download's share is infinite
        // whatever its flow count (which has at least this flow), so its flow list
        // is not read: one cache miss less per flow in a large swarm.
        let n = c.node() as usize;
        if c.is_up() {
            let up_share = share(up[n], out_flows[n].len());
            for &f in &out_flows[n] {
                let d = sink.far_end(f, true);
                let down_share = down_share(down[d], || in_flows[d].len());
                sink.rate(f, up_share.min(down_share));
            }
        } else if !down[n].is_infinite() {
            // (An unlimited download shares nothing: its flows' rates are their
            // upload shares, which a change in its flow count does not move; the flow
            // that came or went is covered by its uploader's constraint.)
            let down_share = share(down[n], in_flows[n].len());
            for &f in &in_flows[n] {
                let s = sink.far_end(f, false);
                let up_share = share(up[s], out_flows[s].len());
                sink.rate(f, up_share.min(down_share));
            }
        }
    }
}

/// `reallocate`'s sink: reads the graph, buffers the rates.
struct Buffered<'a, P> {
    graph: &'a FlowGraph<P>,
    out: &'a mut Vec<(FlowId, f64)>,
}

impl<P> RateSink for Buffered<'_, P> {
    #[inline(always)]
    fn far_end(&mut self, f: FlowId, from_up: bool) -> usize {
        let flow = self.graph.flow(f);
        (if from_up { flow.dst } else { flow.src }) as usize
    }
    #[inline(always)]
    fn rate(&mut self, f: FlowId, rate: f64) {
        self.out.push((f, rate));
    }
}

/// `apply`'s sink: sets each rate in its flow record as it is computed (the record
/// the far end was just read from).
struct InPlace<'a, P> {
    slots: &'a mut [FlowSlot<P>],
    now: Time,
    changed: &'a mut Vec<FlowId>,
}

impl<P> RateSink for InPlace<'_, P> {
    #[inline(always)]
    fn far_end(&mut self, f: FlowId, from_up: bool) -> usize {
        let flow = &self.slots[f as usize].flow;
        (if from_up { flow.dst } else { flow.src }) as usize
    }
    #[inline(always)]
    fn rate(&mut self, f: FlowId, rate: f64) {
        set_rate(
            &mut self.slots[f as usize].flow,
            f,
            rate,
            self.now,
            self.changed,
        );
    }
}

impl<P> BandwidthModel<P> for FastShare {
    fn reallocate(
        &mut self,
        graph: &FlowGraph<P>,
        touched: &[Constraint],
        out: &mut Vec<(FlowId, f64)>,
    ) {
        let mut sink = Buffered { graph, out };
        shares(
            &graph.up,
            &graph.down,
            &graph.out_flows,
            &graph.in_flows,
            touched,
            &mut sink,
        );
    }

    /// As `reallocate`, setting each rate as it is computed: a rate here depends only
    /// on flow counts and capacities, never on another flow's rate, so setting them in
    /// place gives exactly what the buffered default gives.
    fn apply(
        &mut self,
        graph: &mut FlowGraph<P>,
        touched: &[Constraint],
        now: Time,
        _scratch: &mut Vec<(FlowId, f64)>,
        changed: &mut Vec<FlowId>,
    ) {
        // Split borrows: the lists are read while the flow records are written.
        let FlowGraph {
            up,
            down,
            out_flows,
            in_flows,
            slots,
        } = graph;
        let mut sink = InPlace {
            slots,
            now,
            changed,
        };
        shares(up, down, out_flows, in_flows, touched, &mut sink);
    }

    fn name(&self) -> &'static str {
        "fast"
    }
}
