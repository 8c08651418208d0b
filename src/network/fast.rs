//! The fast bandwidth model: equal split at both ends.

use super::{BandwidthModel, Constraint, FlowGraph, FlowId};

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
            for &f in graph.flows_of(c) {
                let flow = graph.flow(f);
                let s = flow.src as usize;
                let d = flow.dst as usize;
                let up_share = graph.up[s] / graph.out_flows[s].len() as f64;
                let down_share = graph.down[d] / graph.in_flows[d].len() as f64;
                out.push((f, up_share.min(down_share)));
            }
        }
    }

    fn name(&self) -> &'static str {
        "fast"
    }
}
