//! The fast bandwidth model: equal split at both ends.

use super::{BandwidthModel, Constraint, FlowGraph, FlowId, set_rate};
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

impl BandwidthModel for FastShare {
    fn reallocate(
        &mut self,
        graph: &FlowGraph,
        touched: &[Constraint],
        out: &mut Vec<(FlowId, f64)>,
    ) {
        for &c in touched {
            // An unlimited download shares nothing: its flows' rates are their upload
            // shares, which a change in its flow count does not move (the flow that
            // came or went is covered by its uploader's constraint).
            if !c.is_up() && graph.down[c.node() as usize].is_infinite() {
                continue;
            }
            // The share of the constraint's own node is the same for all its flows:
            // computed once. At the far end an unlimited download's share is infinite
            // whatever its flow count (which has at least this flow), so its flow list
            // is not read: one cache miss less per flow in a large swarm.
            let n = c.node() as usize;
            if c.is_up() {
                let up_share = share(graph.up[n], graph.out_flows[n].len());
                for &f in &graph.out_flows[n] {
                    let d = graph.flow(f).dst as usize;
                    let down_share = down_share(graph.down[d], || graph.in_flows[d].len());
                    out.push((f, up_share.min(down_share)));
                }
            } else {
                let down_share = share(graph.down[n], graph.in_flows[n].len());
                for &f in &graph.in_flows[n] {
                    let s = graph.flow(f).src as usize;
                    let up_share = share(graph.up[s], graph.out_flows[s].len());
                    out.push((f, up_share.min(down_share)));
                }
            }
        }
    }

    /// As `reallocate`, setting each rate as it is computed: a rate here depends only
    /// on flow counts and capacities, never on another flow's rate, so setting them in
    /// place gives exactly what the buffered default gives.
    fn apply(
        &mut self,
        graph: &mut FlowGraph,
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
        for &c in touched {
            let n = c.node() as usize;
            if c.is_up() {
                let up_share = share(up[n], out_flows[n].len());
                for &f in &out_flows[n] {
                    let flow = &mut slots[f as usize].flow;
                    let d = flow.dst as usize;
                    let down_share = down_share(down[d], || in_flows[d].len());
                    set_rate(flow, f, up_share.min(down_share), now, changed);
                }
            } else if !down[n].is_infinite() {
                // (An unlimited download is skipped as in `reallocate`.)
                let down_share = share(down[n], in_flows[n].len());
                for &f in &in_flows[n] {
                    let flow = &mut slots[f as usize].flow;
                    let s = flow.src as usize;
                    let up_share = share(up[s], out_flows[s].len());
                    set_rate(flow, f, up_share.min(down_share), now, changed);
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        "fast"
    }
}
