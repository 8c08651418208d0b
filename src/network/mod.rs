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

use crate::engine::Time;

/// Index of a node: 0 is the server, 1..=N the peers.
pub type NodeId = u32;
/// Index of a flow in the network's arena. Ids are reused after a flow is removed.
pub type FlowId = u32;

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
    pub out_flows: Vec<Vec<FlowId>>,
    /// Active incoming flows of each node.
    pub in_flows: Vec<Vec<FlowId>>,
    /// The flow arena; `None` marks a free slot.
    pub flows: Vec<Option<Flow>>,
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
    pub fn flow(&self, id: FlowId) -> &Flow {
        self.flows[id as usize].as_ref().expect("active flow")
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
                out_flows: vec![Vec::new(); n],
                in_flows: vec![Vec::new(); n],
                flows: Vec::new(),
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
        let flow = Flow {
            src,
            dst,
            size: bytes,
            remaining: bytes,
            rate: 0.0,
            since: now,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.graph.flows[id as usize] = Some(flow);
                id
            }
            None => {
                self.graph.flows.push(Some(flow));
                (self.graph.flows.len() - 1) as FlowId
            }
        };
        self.graph.out_flows[src as usize].push(id);
        self.graph.in_flows[dst as usize].push(id);
        self.touch(Constraint::up(src));
        self.touch(Constraint::down(dst));
        self.active += 1;
        id
    }

    /// Ends a flow (completed or cancelled) and returns the bytes it delivered.
    pub fn remove_flow(&mut self, now: Time, id: FlowId) -> f64 {
        let mut flow = self.graph.flows[id as usize].take().expect("active flow");
        advance(&mut flow, now);
        let delivered = (flow.size - flow.remaining).clamp(0.0, flow.size);
        remove_id(&mut self.graph.out_flows[flow.src as usize], id);
        remove_id(&mut self.graph.in_flows[flow.dst as usize], id);
        self.touch(Constraint::up(flow.src));
        self.touch(Constraint::down(flow.dst));
        self.free.push(id);
        self.active -= 1;
        delivered
    }

    /// Shrinks an active flow so that `left` bytes remain from `now` on (its size
    /// drops by the difference); its rate is unchanged.
    pub fn shrink_flow(&mut self, now: Time, id: FlowId, left: f64) {
        let flow = self.graph.flows[id as usize].as_mut().expect("active flow");
        advance(flow, now);
        let cut = (flow.remaining - left).max(0.0);
        flow.remaining -= cut;
        flow.size -= cut;
    }

    /// Bytes delivered so far by an active flow, as of `now`.
    pub fn delivered(&self, id: FlowId, now: Time) -> f64 {
        let f = self.graph.flow(id);
        let sent = f.size - f.remaining + f.rate * now.secs_since(f.since);
        sent.clamp(0.0, f.size)
    }

    /// Applies the bandwidth model to the nodes touched since the last call and
    /// returns the flows whose rate changed (their completion times moved).
    pub fn rebalance(&mut self, now: Time) -> &[FlowId] {
        self.changed.clear();
        if self.touched.is_empty() {
            return &self.changed;
        }
        self.new_rates.clear();
        self.model
            .reallocate(&self.graph, &self.touched, &mut self.new_rates);
        for &c in &self.touched {
            self.touched_mark[c.0 as usize] = false;
        }
        self.touched.clear();
        for &(id, rate) in &self.new_rates {
            let flow = self.graph.flows[id as usize].as_mut().expect("active flow");
            if flow.rate != rate {
                advance(flow, now);
                flow.rate = rate;
                self.changed.push(id);
            }
        }
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

    /// Sum of the rates of all active flows, bytes per second.
    pub fn total_rate(&self) -> f64 {
        self.graph.flows.iter().flatten().map(|f| f.rate).sum()
    }

    fn touch(&mut self, c: Constraint) {
        if !self.touched_mark[c.0 as usize] {
            self.touched_mark[c.0 as usize] = true;
            self.touched.push(c);
        }
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

fn remove_id(list: &mut Vec<FlowId>, id: FlowId) {
    if let Some(pos) = list.iter().position(|&x| x == id) {
        // Order of a node's flow list must stay deterministic, and it does: the same
        // sequence of adds and removes always gives the same order.
        list.swap_remove(pos);
    }
}

/// The bandwidth models a scenario can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ModelKind {
    /// Exact max-min fair sharing ([`MaxMinFair`]).
    MaxMin,
    /// Equal split at both ends ([`FastShare`]).
    Fast,
}

impl ModelKind {
    /// The name used in scenario files and outputs.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::MaxMin => "max-min",
            ModelKind::Fast => "fast",
        }
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
