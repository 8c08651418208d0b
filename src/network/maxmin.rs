//! The reference bandwidth model: exact max-min fair sharing.

use super::{BandwidthModel, Constraint, FlowGraph, FlowId};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Relative change of a rate below which it counts as unchanged: re-solving a region
/// sums capacities in another order than the solve that set the old rates, so a rate
/// that is mathematically unchanged may differ in its last bits. Such a rate keeps
/// its old bits and does not spread the region (summation noise is about 1e-16 per
/// operation; the property tests check the allocation to 1e-9).
const NOISE: f64 = 1e-12;

/// True if `new` differs from `old` by more than summation noise.
#[inline]
fn moved(old: f64, new: f64) -> bool {
    (new - old).abs() > NOISE * old.abs().max(new.abs())
}

/// Exact max-min fair allocation over both constraint sets (every node's upload and
/// download capacity), by progressive filling over the region an event can change.
///
/// Every flow crosses exactly two constraints, its uploader's upload and its
/// downloader's download. In a max-min allocation each saturated constraint has a
/// level (the largest rate through it); a flow runs at the level of its tighter end.
/// An event (flows added or removed) can change rates only through a chain of
/// constraints whose level changes, and a change stops at a constraint with slack
/// (its load stays within its capacity) or at a flow that stays frozen at its other
/// end. So after an event the model re-solves a *region*:
///
/// 1. The region starts as the touched constraints that can bind.
/// 2. Progressive filling over the region: all rates rise together; the constraint
///    whose equal share `remaining capacity / unfrozen flows` is smallest saturates
///    first, its unfrozen flows freeze at that share and are subtracted from their
///    other end; repeat. A flow whose other end lies outside the region is capped at
///    that end's current level (the largest rate through it, if it is saturated; no
///    cap if it has slack), as a one-flow constraint of its own.
/// 3. For each flow leaving the region whose rate moved, its outside end joins the
///    region if it was saturated (its level must move too) or if the new rates
///    overload it; if any joined, solve again from step 2.
///
/// The result is max-min fair by the textbook test (every flow has a bottleneck: a
/// saturated constraint on which it has the largest rate): inside the region by
/// construction, outside it because no rate there moved, and at the region's edge
/// because an end whose rate sum moved joined the region unless it has slack left.
///
/// A constraint that can never bind, because its capacity is at least the sum of the
/// capacities at the far end of its flows, never joins: its flows are set by their
/// other end alone. So in a swarm whose download capacities never bind, an event
/// re-solves only the uploader's own flows, at `capacity / flows`.
///
/// Ties are broken by constraint index and then flow id, so the result is
/// deterministic. Rates that move by less than 1e-12 (relative) keep their old bits.
pub struct MaxMinFair {
    /// Per constraint: could it bind at its last change (see [`MaxMinFair::can_bind`]).
    binding: Vec<bool>,
    /// Per constraint: the solve epoch in which it joined the region.
    region_stamp: Vec<u32>,
    /// Per constraint: the solve epoch in which it was found to join the region.
    join_stamp: Vec<u32>,
    /// Per constraint that can bind: its level after its last solve (the largest
    /// rate through it if it is saturated, infinite if it has slack).
    level: Vec<f64>,
    /// Per constraint that can bind: the sum of its rates.
    load: Vec<f64>,
    /// Per flow: the solve epoch in which it entered the problem.
    flow_stamp: Vec<u32>,
    /// Per flow: the solve epoch in which it froze.
    frozen_stamp: Vec<u32>,
    /// Per flow: its rate in the current solve.
    new_rate: Vec<f64>,
    epoch: u32,
    region: Vec<Constraint>,
    problem: Vec<FlowId>,
    joined: Vec<Constraint>,
    was: Vec<bool>,
    rem_cap: Vec<f64>,
    unfrozen: Vec<u32>,
    heap: BinaryHeap<Reverse<(Share, u64)>>,
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

/// Heap entries for a flow's outside cap sort after the constraints at equal share.
const FLOW_ENTRY: u64 = 1 << 32;

impl MaxMinFair {
    /// A model for a network of `nodes` nodes.
    pub fn new(nodes: usize) -> MaxMinFair {
        MaxMinFair {
            binding: vec![false; 2 * nodes],
            region_stamp: vec![0; 2 * nodes],
            join_stamp: vec![0; 2 * nodes],
            level: vec![f64::INFINITY; 2 * nodes],
            load: vec![0.0; 2 * nodes],
            flow_stamp: Vec::new(),
            frozen_stamp: Vec::new(),
            new_rate: Vec::new(),
            epoch: 0,
            region: Vec::new(),
            problem: Vec::new(),
            joined: Vec::new(),
            was: Vec::new(),
            rem_cap: vec![0.0; 2 * nodes],
            unfrozen: vec![0; 2 * nodes],
            heap: BinaryHeap::new(),
        }
    }

    /// True if the constraint could ever be saturated by its current flows.
    fn can_bind<P>(graph: &FlowGraph<P>, c: Constraint) -> bool {
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

    /// A fresh solve epoch (stamps from earlier epochs read as unset).
    fn next_epoch(&mut self) {
        self.epoch += 1;
        if self.epoch == u32::MAX {
            self.region_stamp.iter_mut().for_each(|s| *s = 0);
            self.join_stamp.iter_mut().for_each(|s| *s = 0);
            self.flow_stamp.iter_mut().for_each(|s| *s = 0);
            self.frozen_stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
    }

    fn in_region(&self, c: Constraint) -> bool {
        self.region_stamp[c.0 as usize] == self.epoch
    }

    /// Adds `c` to the region (of this event; stamps are carried to each new epoch).
    fn join(&mut self, c: Constraint) {
        if self.region_stamp[c.0 as usize] != self.epoch {
            self.region_stamp[c.0 as usize] = self.epoch;
            self.region.push(c);
        }
    }

    /// The level of constraint `c` outside the region: the largest rate through it
    /// if it is saturated, infinite if it has slack (as of its last solve).
    #[inline]
    fn outside_level(&self, c: Constraint) -> f64 {
        self.level[c.0 as usize]
    }

    /// Load and largest rate through `c`, each flow's rate taken from `rate`.
    fn load_and_max<P>(
        graph: &FlowGraph<P>,
        c: Constraint,
        rate: impl Fn(FlowId) -> f64,
    ) -> (f64, f64) {
        let mut load = 0.0;
        let mut max = 0.0f64;
        for &f in graph.flows_of(c) {
            let r = rate(f);
            load += r;
            max = max.max(r);
        }
        (load, max)
    }

    /// The rate flow `f` ends the event with: the last solve's if it moved, else
    /// its current one.
    #[inline]
    fn final_rate<P>(&self, graph: &FlowGraph<P>, f: FlowId) -> f64 {
        let old = graph.flow(f).rate;
        if self.flow_stamp[f as usize] == self.epoch {
            let new = self.new_rate[f as usize];
            if moved(old, new) {
                return new;
            }
        }
        old
    }

    /// Progressive filling over the region; rates into `new_rate`, flows into
    /// `problem`.
    fn solve<P>(&mut self, graph: &FlowGraph<P>) {
        let epoch = self.epoch;
        if self.flow_stamp.len() < graph.flow_id_bound() {
            let n = graph.flow_id_bound();
            self.flow_stamp.resize(n, 0);
            self.frozen_stamp.resize(n, 0);
            self.new_rate.resize(n, 0.0);
        }
        self.problem.clear();
        self.heap.clear();
        for k in 0..self.region.len() {
            let c = self.region[k];
            let i = c.0 as usize;
            self.rem_cap[i] = graph.capacity(c);
            self.unfrozen[i] = graph.flows_of(c).len() as u32;
            for &f in graph.flows_of(c) {
                if self.flow_stamp[f as usize] == epoch {
                    continue;
                }
                self.flow_stamp[f as usize] = epoch;
                self.problem.push(f);
                let o = graph.other_end(f, c);
                if !self.in_region(o) && self.binding[o.0 as usize] {
                    let cap = self.outside_level(o);
                    if cap.is_finite() {
                        self.heap.push(Reverse((Share(cap), FLOW_ENTRY | f as u64)));
                    }
                }
            }
        }
        for &c in &self.region {
            let i = c.0 as usize;
            let n = self.unfrozen[i];
            if n > 0 {
                self.heap
                    .push(Reverse((Share(self.rem_cap[i] / n as f64), c.0 as u64)));
            }
        }
        while let Some(Reverse((Share(share), key))) = self.heap.pop() {
            if key & FLOW_ENTRY != 0 {
                // A flow reaches the level of its end outside the region.
                let f = key as u32;
                if self.frozen_stamp[f as usize] != epoch {
                    self.freeze(graph, f, share);
                }
                continue;
            }
            let i = key as usize;
            let n = self.unfrozen[i];
            if n == 0 {
                continue;
            }
            let current = (self.rem_cap[i] / n as f64).max(0.0);
            if current > share {
                // Stale entry: the share grew since it was pushed.
                self.heap.push(Reverse((Share(current), key)));
                continue;
            }
            let c = Constraint(key as u32);
            for &f in graph.flows_of(c) {
                if self.frozen_stamp[f as usize] != epoch {
                    self.freeze(graph, f, current);
                }
            }
        }
        debug_assert!(
            self.problem
                .iter()
                .all(|&f| self.frozen_stamp[f as usize] == epoch),
            "every flow of the region has a binding end"
        );
    }

    /// Freezes flow `f` at `rate` and takes it off both its ends in the region.
    #[inline]
    fn freeze<P>(&mut self, graph: &FlowGraph<P>, f: FlowId, rate: f64) {
        self.frozen_stamp[f as usize] = self.epoch;
        self.new_rate[f as usize] = rate;
        let flow = graph.flow(f);
        for c in [Constraint::up(flow.src), Constraint::down(flow.dst)] {
            if self.in_region(c) {
                let i = c.0 as usize;
                self.rem_cap[i] -= rate;
                self.unfrozen[i] -= 1;
            }
        }
    }

    /// The outside ends whose level must move after the last solve (see the type's
    /// step 3), into `joined`.
    fn spread<P>(&mut self, graph: &FlowGraph<P>) {
        self.joined.clear();
        for k in 0..self.problem.len() {
            let f = self.problem[k];
            let flow = graph.flow(f);
            let new = self.new_rate[f as usize];
            if !moved(flow.rate, new) {
                continue;
            }
            for o in [Constraint::up(flow.src), Constraint::down(flow.dst)] {
                let i = o.0 as usize;
                if self.in_region(o) || !self.binding[i] || self.join_stamp[i] == self.epoch {
                    continue;
                }
                let join = self.outside_level(o).is_finite() || {
                    // Slack: does the load with the new rates stay within capacity?
                    // (The stored load, exact but for its last bits, decides unless
                    // it is close to the capacity.)
                    let cap = graph.capacity(o);
                    let mut load = self.load[i];
                    for &g in graph.flows_of(o) {
                        if self.flow_stamp[g as usize] == self.epoch {
                            load += self.new_rate[g as usize] - graph.flow(g).rate;
                        }
                    }
                    if (load - cap).abs() <= 1e-9 * cap {
                        load = 0.0;
                        for &g in graph.flows_of(o) {
                            load += if self.flow_stamp[g as usize] == self.epoch {
                                self.new_rate[g as usize]
                            } else {
                                graph.flow(g).rate
                            };
                        }
                    }
                    load > cap * (1.0 + NOISE)
                };
                if join {
                    // Joined constraints enter the region after the scan, so that
                    // the scan reads the region of the solve it checks.
                    self.join_stamp[i] = self.epoch;
                    self.joined.push(o);
                }
            }
        }
    }
}

impl<P> BandwidthModel<P> for MaxMinFair {
    fn reallocate(
        &mut self,
        graph: &FlowGraph<P>,
        touched: &[Constraint],
        out: &mut Vec<(FlowId, f64)>,
    ) {
        // Binding status changes only with a constraint's flow set: update it for
        // every touched constraint before anything reads it.
        self.was.clear();
        for &c in touched {
            let bind = Self::can_bind(graph, c);
            let was = std::mem::replace(&mut self.binding[c.0 as usize], bind);
            self.was.push(was);
        }
        self.next_epoch();
        self.region.clear();
        for (k, &c) in touched.iter().enumerate() {
            if self.binding[c.0 as usize] {
                self.join(c);
                continue;
            }
            // Its flows are set by their far ends alone; a flow whose far end cannot
            // bind either simply gets the smaller of the two capacities.
            for &f in graph.flows_of(c) {
                let o = graph.other_end(f, c);
                if self.binding[o.0 as usize] {
                    // It may have been this flow's bottleneck: re-solve its far end.
                    if self.was[k] {
                        self.join(o);
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
        if self.region.is_empty() {
            return;
        }
        loop {
            self.solve(graph);
            self.spread(graph);
            if self.joined.is_empty() {
                break;
            }
            // A new epoch for the larger region: carry the region's stamps over.
            self.next_epoch();
            let epoch = self.epoch;
            for &c in &self.region {
                self.region_stamp[c.0 as usize] = epoch;
            }
            for k in 0..self.joined.len() {
                let c = self.joined[k];
                self.region_stamp[c.0 as usize] = epoch;
                self.region.push(c);
            }
        }
        // Store the region's levels and loads, and the loads of the outside ends
        // whose flows moved, for the next events' outside caps and slack tests.
        for k in 0..self.region.len() {
            let c = self.region[k];
            let (load, max) = Self::load_and_max(graph, c, |f| self.final_rate(graph, f));
            let i = c.0 as usize;
            self.load[i] = load;
            self.level[i] = if load >= graph.capacity(c) * (1.0 - NOISE) {
                max
            } else {
                f64::INFINITY
            };
        }
        for &f in &self.problem {
            let flow = graph.flow(f);
            let new = self.new_rate[f as usize];
            if moved(flow.rate, new) {
                out.push((f, new));
                for o in [Constraint::up(flow.src), Constraint::down(flow.dst)] {
                    if !self.in_region(o) && self.binding[o.0 as usize] {
                        self.load[o.0 as usize] += new - flow.rate;
                    }
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        "max-min"
    }
}
