//! The reference bandwidth model: exact max-min fair sharing.

use super::{BandwidthModel, Constraint, FlowGraph, FlowId};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Exact max-min fair allocation over both constraint sets (every node's upload and
/// download capacity), by progressive filling.
///
/// Incremental: after an event it recomputes only the connected part of the
/// constraint graph that the touched constraints reach (two constraints are linked
/// when a flow passes through both). A constraint that can never bind, because its
/// capacity is at least the sum of the capacities at the far end of its flows, does
/// not link anything: its flows are set by their other end alone. So in a swarm whose
/// download capacities never bind, an event touches only the uploader's own flows.
///
/// Progressive filling: all rates rise together; the constraint whose equal share
/// `remaining capacity / unfrozen flows` is smallest saturates first, its unfrozen
/// flows freeze at that share and are subtracted from their other constraint; repeat.
/// Ties are broken by constraint index, so the result is deterministic.
pub struct MaxMinFair {
    visit_stamp: Vec<u32>,
    flow_stamp: Vec<u32>,
    epoch: u32,
    stack: Vec<Constraint>,
    comp: Vec<Constraint>,
    comp_flows: Vec<FlowId>,
    rem_cap: Vec<f64>,
    unfrozen: Vec<u32>,
    was_binding: Vec<bool>,
    heap: BinaryHeap<Reverse<(Share, u32)>>,
}

#[derive(Clone, Copy, PartialEq)]
struct Share(f64);
impl Eq for Share {}
impl PartialOrd for Share {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Share {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl MaxMinFair {
    /// A model for a network of `nodes` nodes.
    pub fn new(nodes: usize) -> MaxMinFair {
        MaxMinFair {
            visit_stamp: vec![0; 2 * nodes],
            flow_stamp: Vec::new(),
            epoch: 0,
            stack: Vec::new(),
            comp: Vec::new(),
            comp_flows: Vec::new(),
            rem_cap: vec![0.0; 2 * nodes],
            unfrozen: vec![0; 2 * nodes],
            was_binding: vec![false; 2 * nodes],
            heap: BinaryHeap::new(),
        }
    }

    /// True if the constraint could ever be saturated by its current flows.
    fn can_bind(graph: &FlowGraph, c: Constraint) -> bool {
        let cap = graph.capacity(c);
        if cap.is_infinite() {
            return false;
        }
        let mut demand = 0.0;
        for &f in graph.flows_of(c) {
            demand += graph.capacity(graph.other_end(f, c));
            if demand > cap {
                return true;
            }
        }
        false
    }

    fn visit(&mut self, c: Constraint) {
        if self.visit_stamp[c.0 as usize] != self.epoch {
            self.visit_stamp[c.0 as usize] = self.epoch;
            self.stack.push(c);
        }
    }

    fn next_epoch(&mut self, flows: usize) {
        if self.flow_stamp.len() < flows {
            self.flow_stamp.resize(flows, 0);
        }
        // Epochs stay below 2^31 so that a frozen mark (`!epoch`, at least 2^31) is
        // never mistaken for a live epoch.
        self.epoch += 1;
        if self.epoch >= 1 << 31 {
            self.visit_stamp.iter_mut().for_each(|s| *s = 0);
            self.flow_stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
    }
}

impl BandwidthModel for MaxMinFair {
    fn reallocate(
        &mut self,
        graph: &FlowGraph,
        touched: &[Constraint],
        out: &mut Vec<(FlowId, f64)>,
    ) {
        self.next_epoch(graph.flow_id_bound());
        let epoch = self.epoch;
        self.comp.clear();
        self.comp_flows.clear();
        self.stack.clear();

        // 1. The component: binding constraints reachable from the touched ones
        // through flows, plus every flow of a reached constraint. A constraint's
        // binding status changes only when its flow set does, i.e. when touched.
        for &c in touched {
            let bind = Self::can_bind(graph, c);
            let was = std::mem::replace(&mut self.was_binding[c.0 as usize], bind);
            if bind {
                self.visit(c);
            } else {
                // Its flows are set by their far ends alone: recompute them if this
                // constraint used to bind; a flow whose far end cannot bind either
                // simply gets the smaller of the two capacities.
                for &f in graph.flows_of(c) {
                    let o = graph.other_end(f, c);
                    if Self::can_bind(graph, o) {
                        if was {
                            self.visit(o);
                        }
                    } else {
                        let flow = graph.flow(f);
                        out.push((
                            f,
                            graph.up[flow.src as usize].min(graph.down[flow.dst as usize]),
                        ));
                    }
                }
            }
        }
        while let Some(c) = self.stack.pop() {
            self.comp.push(c);
            for &f in graph.flows_of(c) {
                if self.flow_stamp[f as usize] != epoch {
                    self.flow_stamp[f as usize] = epoch;
                    self.comp_flows.push(f);
                }
                let o = graph.other_end(f, c);
                if self.visit_stamp[o.0 as usize] != epoch && Self::can_bind(graph, o) {
                    self.visit(o);
                }
            }
        }

        // 2. Progressive filling over the (binding) constraints of the component. A
        // frozen flow is marked by writing `!epoch` into its stamp.
        let frozen = !epoch;
        debug_assert_ne!(frozen, epoch);
        self.heap.clear();
        for &c in &self.comp {
            let i = c.0 as usize;
            self.rem_cap[i] = graph.capacity(c);
            let n = graph
                .flows_of(c)
                .iter()
                .filter(|&&f| self.flow_stamp[f as usize] == epoch)
                .count() as u32;
            self.unfrozen[i] = n;
            if n > 0 {
                self.heap
                    .push(Reverse((Share(self.rem_cap[i] / n as f64), c.0)));
            }
        }
        while let Some(Reverse((Share(share), ci))) = self.heap.pop() {
            let i = ci as usize;
            let n = self.unfrozen[i];
            if n == 0 {
                continue;
            }
            let current = (self.rem_cap[i] / n as f64).max(0.0);
            if current > share {
                // Stale entry: the share grew since it was pushed.
                self.heap.push(Reverse((Share(current), ci)));
                continue;
            }
            let c = Constraint(ci);
            for &f in graph.flows_of(c) {
                if self.flow_stamp[f as usize] != epoch {
                    continue;
                }
                self.flow_stamp[f as usize] = frozen;
                out.push((f, current));
                let o = graph.other_end(f, c);
                let oi = o.0 as usize;
                if self.visit_stamp[oi] == epoch {
                    self.rem_cap[oi] -= current;
                    self.unfrozen[oi] -= 1;
                }
            }
            self.unfrozen[i] = 0;
        }
        debug_assert!(
            self.comp_flows
                .iter()
                .all(|&f| self.flow_stamp[f as usize] == frozen),
            "every flow of the component has a binding end"
        );
    }

    fn name(&self) -> &'static str {
        "max-min"
    }
}
