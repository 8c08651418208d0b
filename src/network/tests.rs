//! Tests of the bandwidth models against an independent checker of max-min fairness.

use super::*;
use proptest::prelude::*;

const REL: f64 = 1e-9;

/// Sum of the rates through a constraint.
fn load(g: &FlowGraph, c: Constraint) -> f64 {
    g.flows_of(c).iter().map(|&f| g.flow(f).rate).sum()
}

/// No node sends or receives above its capacity.
fn assert_feasible(g: &FlowGraph) {
    for n in 0..g.up.len() as u32 {
        for c in [Constraint::up(n), Constraint::down(n)] {
            let cap = g.capacity(c);
            assert!(
                load(g, c) <= cap * (1.0 + REL) + 1e-9,
                "constraint {c:?} carries {} > capacity {cap}",
                load(g, c)
            );
        }
    }
}

/// The textbook characterisation of max-min fairness (Bertsekas & Gallager, Data
/// Networks, 6.5): an allocation is max-min fair iff it is feasible and every flow has
/// a bottleneck, a saturated constraint on which no other flow has a larger rate.
/// This checker is independent of the progressive-filling code it checks.
fn assert_max_min_fair(g: &FlowGraph) {
    assert_feasible(g);
    for (id, f) in g.flows() {
        let has_bottleneck = [Constraint::up(f.src), Constraint::down(f.dst)]
            .into_iter()
            .any(|c| {
                let cap = g.capacity(c);
                let saturated = load(g, c) >= cap * (1.0 - REL) - 1e-9;
                let largest = g
                    .flows_of(c)
                    .iter()
                    .all(|&o| g.flow(o).rate <= f.rate * (1.0 + REL) + 1e-12);
                saturated && largest
            });
        assert!(has_bottleneck, "flow {id} ({f:?}) has no bottleneck");
    }
}

/// Max-min rates by global progressive filling over every constraint, written
/// independently of the model's region solve (no regions, no outside caps, no
/// heap): the constraint with the smallest equal share of what is left saturates
/// first, its unfrozen flows freeze at that share. O(constraints^2), for tests.
fn reference_rates(g: &FlowGraph) -> Vec<Option<f64>> {
    let n = 2 * g.up.len();
    let mut rate: Vec<Option<f64>> = vec![None; g.flow_id_bound()];
    let mut rem: Vec<f64> = (0..n as u32).map(|c| g.capacity(Constraint(c))).collect();
    loop {
        let mut best: Option<(f64, u32)> = None;
        for c in 0..n as u32 {
            let open = g
                .flows_of(Constraint(c))
                .iter()
                .filter(|&&f| rate[f as usize].is_none())
                .count();
            if open == 0 || rem[c as usize].is_infinite() {
                continue;
            }
            let share = (rem[c as usize] / open as f64).max(0.0);
            if best.is_none_or(|(b, _)| share < b) {
                best = Some((share, c));
            }
        }
        let Some((share, c)) = best else { break };
        for &f in g.flows_of(Constraint(c)) {
            if rate[f as usize].is_none() {
                rate[f as usize] = Some(share);
                let flow = g.flow(f);
                rem[Constraint::up(flow.src).0 as usize] -= share;
                rem[Constraint::down(flow.dst).0 as usize] -= share;
            }
        }
    }
    // A flow with two unlimited ends is unconstrained; the models never see one.
    rate
}

/// The network's rates equal [`reference_rates`] to relative `REL`.
fn assert_matches_reference(net: &Network) {
    let g = net.graph();
    let want = reference_rates(g);
    for (id, f) in g.flows() {
        let w = want[id as usize].expect("every test flow has a finite end");
        assert!(
            (f.rate - w).abs() <= REL * w.max(1.0),
            "flow {id}: rate {} vs reference {w}",
            f.rate
        );
    }
}

fn rates(net: &Network) -> Vec<Option<f64>> {
    let g = net.graph();
    (0..g.flow_id_bound() as FlowId)
        .map(|id| g.get(id).map(|f| f.rate))
        .collect()
}

/// A random scenario: node capacities, then a sequence of flow additions (src, dst)
/// and removals (index into the list of live flows).
#[derive(Debug, Clone)]
struct Case {
    up: Vec<f64>,
    down: Vec<f64>,
    ops: Vec<(bool, u32, u32)>,
}

fn case(max_nodes: usize, unlimited_down: bool) -> impl Strategy<Value = Case> {
    (2..max_nodes).prop_flat_map(move |n| {
        let caps = prop::collection::vec(1.0f64..100.0, n);
        let downs = prop::collection::vec(
            if unlimited_down {
                Just(f64::INFINITY).boxed()
            } else {
                prop_oneof![1.0f64..100.0, Just(f64::INFINITY)].boxed()
            },
            n,
        );
        let ops =
            prop::collection::vec((prop::bool::weighted(0.7), 0..n as u32, 0..n as u32), 1..60);
        (caps, downs, ops).prop_map(|(up, down, ops)| Case { up, down, ops })
    })
}

/// Replays a case on a network, rebalancing after every operation, and calls `check`
/// after each rebalance.
fn replay(c: &Case, kind: ModelKind, mut check: impl FnMut(&Network)) -> Network {
    let mut net: Network = Network::new(c.up.clone(), c.down.clone(), kind.build(c.up.len()));
    let mut live: Vec<FlowId> = Vec::new();
    for (i, &(add, a, b)) in c.ops.iter().enumerate() {
        let now = Time(i as u64 * 1000);
        if add || live.is_empty() {
            if a == b {
                continue;
            }
            live.push(net.add_flow(now, a, b, 1e6));
        } else {
            let f = live.swap_remove(a as usize % live.len());
            net.remove_flow(now, f);
        }
        net.rebalance(now);
        check(&net);
    }
    net
}

/// A random scenario in which downloads bind: `mode` 0 gives every download below
/// the uploads (most flows capped at their downloader), 1 mixes download and upload
/// capacities of the same range (some uploads saturated, some downloads), 2 mixes
/// binding downloads with unlimited ones. Denser than [`case`] (up to 160 operations,
/// 80 % additions), so that chains of saturated constraints form.
fn binding_case(max_nodes: usize) -> impl Strategy<Value = Case> {
    (2..max_nodes, 0..3u8).prop_flat_map(move |(n, mode)| {
        let (ups, downs) = match mode {
            0 => (
                prop::collection::vec(50.0f64..100.0, n).boxed(),
                prop::collection::vec((5.0f64..40.0).boxed(), n).boxed(),
            ),
            1 => (
                prop::collection::vec(10.0f64..100.0, n).boxed(),
                prop::collection::vec((10.0f64..100.0).boxed(), n).boxed(),
            ),
            _ => (
                prop::collection::vec(10.0f64..100.0, n).boxed(),
                prop::collection::vec(prop_oneof![5.0f64..60.0, Just(f64::INFINITY)].boxed(), n)
                    .boxed(),
            ),
        };
        let ops = prop::collection::vec(
            (prop::bool::weighted(0.8), 0..n as u32, 0..n as u32),
            1..160,
        );
        (ups, downs, ops).prop_map(|(up, down, ops)| Case { up, down, ops })
    })
}

proptest! {
    #![proptest_config(crate::test_util::cases(300))]

    /// Where downloads bind, after every add and remove the incremental max-min
    /// rates equal the reference progressive filling over the whole network and
    /// pass the bottleneck checker.
    #[test]
    fn max_min_exact_where_downloads_bind(c in binding_case(14)) {
        replay(&c, ModelKind::MaxMin, |net| {
            assert_max_min_fair(net.graph());
            assert_matches_reference(net);
        });
    }

    /// The same on the general cases, after every event.
    #[test]
    fn max_min_equals_reference_after_every_event(c in case(12, false)) {
        replay(&c, ModelKind::MaxMin, assert_matches_reference);
    }

    /// Incremental max-min after every add and remove is max-min fair by the checker.
    #[test]
    fn max_min_is_max_min_fair(c in case(12, false)) {
        replay(&c, ModelKind::MaxMin, |net| assert_max_min_fair(net.graph()));
    }

    /// The incremental computation equals a from-scratch one (every constraint
    /// touched) on the same final flow set.
    #[test]
    fn incremental_equals_from_scratch(c in case(12, false)) {
        let net = replay(&c, ModelKind::MaxMin, |_| {});
        let g = net.graph();
        let mut fresh = MaxMinFair::new(g.up.len());
        let all: Vec<Constraint> = (0..2 * g.up.len() as u32).map(Constraint).collect();
        let mut out = Vec::new();
        fresh.reallocate(g, &all, &mut out);
        for (f, r) in out {
            let old = g.flow(f).rate;
            prop_assert!((old - r).abs() <= REL * r.max(1.0), "flow {f}: {old} vs {r}");
        }
    }

    /// The fast model never exceeds a capacity.
    #[test]
    fn fast_is_feasible(c in case(12, false)) {
        replay(&c, ModelKind::Fast, |net| assert_feasible(net.graph()));
    }

    /// After every rebalance each flow's rate is bit for bit its documented fast share,
    /// `min(up_src / uploads(src), down_dst / downloads(dst))`, however the model
    /// skips work (shares hoisted, unlimited downloads not counted).
    #[test]
    fn fast_rates_are_exactly_the_formula(c in case(12, false)) {
        replay(&c, ModelKind::Fast, |net| {
            let g = net.graph();
            for (_, f) in g.flows() {
                let (s, d) = (f.src as usize, f.dst as usize);
                let want = (g.up[s] / g.out_flows[s].len() as f64)
                    .min(g.down[d] / g.in_flows[d].len() as f64);
                assert_eq!(f.rate.to_bits(), want.to_bits());
            }
        });
    }

    /// With no binding download capacity both models give every uploader's flows an
    /// equal share of its upload: they must agree exactly.
    #[test]
    fn fast_equals_max_min_without_download_limits(c in case(12, true)) {
        let a = replay(&c, ModelKind::MaxMin, |_| {});
        let b = replay(&c, ModelKind::Fast, |_| {});
        for (x, y) in rates(&a).into_iter().zip(rates(&b)) {
            match (x, y) {
                (Some(x), Some(y)) => prop_assert!((x - y).abs() <= REL * x.max(1.0)),
                (None, None) => {}
                _ => prop_assert!(false, "flow sets differ"),
            }
        }
    }
}

#[test]
fn hand_worked_max_min_example() {
    // Server (node 0) upload 10 sends to peers 1 (download 2) and 2 (download 100);
    // peer 1 (upload 3) sends to peer 2. Progressive filling: peer 1's download
    // saturates first at share 2; then the server's remaining 8 go to peer 2
    // (its download carries 8 + 3 = 11 <= 100); peer 1's upload gives peer 2 all 3.
    let mut net: Network = Network::new(
        vec![10.0, 3.0, 1.0],
        vec![f64::INFINITY, 2.0, 100.0],
        ModelKind::MaxMin.build(3),
    );
    let a = net.add_flow(Time(0), 0, 1, 1.0);
    let b = net.add_flow(Time(0), 0, 2, 1.0);
    let c = net.add_flow(Time(0), 1, 2, 1.0);
    net.rebalance(Time(0));
    let g = net.graph();
    assert_eq!(g.flow(a).rate, 2.0);
    assert_eq!(g.flow(b).rate, 8.0);
    assert_eq!(g.flow(c).rate, 3.0);
    // Fast model: server splits 10 into 5 + 5, peer 1's download caps the first at 2
    // and the 3 left over are not redistributed.
    let mut fast: Network = Network::new(
        vec![10.0, 3.0, 1.0],
        vec![f64::INFINITY, 2.0, 100.0],
        ModelKind::Fast.build(3),
    );
    let a = fast.add_flow(Time(0), 0, 1, 1.0);
    let b = fast.add_flow(Time(0), 0, 2, 1.0);
    fast.rebalance(Time(0));
    assert_eq!(fast.graph().flow(a).rate, 2.0);
    assert_eq!(fast.graph().flow(b).rate, 5.0);
}

#[test]
fn completion_time_follows_rate_changes() {
    // 100 bytes at 10 B/s for 5 s leaves 50 bytes; a second flow halves the rate to
    // 5 B/s, so the first finishes 10 s later, at 15 s.
    let mut net: Network = Network::new(
        vec![10.0, 0.0, 0.0],
        vec![f64::INFINITY; 3],
        ModelKind::MaxMin.build(3),
    );
    let a = net.add_flow(Time(0), 0, 1, 100.0);
    net.rebalance(Time(0));
    assert_eq!(net.completion_time(a), Some(Time(10_000_000_000)));
    let five = Time(5_000_000_000);
    net.add_flow(five, 0, 2, 100.0);
    assert!(net.rebalance(five).contains(&a));
    assert_eq!(net.completion_time(a), Some(Time(15_000_000_000)));
    assert_eq!(net.delivered(a, five), 50.0);
}

/// A payload of the largest size the record promises room for (22 bytes), which
/// counts the calls of its hook.
#[derive(Clone, Copy, Default)]
struct Wide {
    bytes: [u8; 21],
    grouped: u8,
}

impl FlowPayload for Wide {
    fn grouped(&mut self) {
        self.grouped += 1;
    }
}

/// A flow and its payload share one 64-byte record (one cache line) for a payload
/// of up to 22 bytes: 40 bytes of flow, the payload, two flags.
#[test]
fn a_flow_record_is_one_cache_line() {
    assert_eq!(std::mem::size_of::<Flow>(), 40);
    assert_eq!(Network::<()>::RECORD_BYTES, 64);
    assert_eq!(Network::<Wide>::RECORD_BYTES, 64);
}

/// The network keeps a flow's payload, hands it back after the flow ends, and calls
/// its hook once for each flow that joins a group as it forms (here the second
/// flow of an uploader with `min_flows` 2 forms it), never for a flow added to a
/// group that already exists.
#[test]
fn payloads_are_kept_and_told_when_their_flow_joins_a_group() {
    let inf = f64::INFINITY;
    let mut net: Network<Wide> = Network::new(
        vec![10.0, 0.0, 0.0, 0.0],
        vec![inf; 4],
        ModelKind::Fast.build(4),
    );
    net.set_processor_sharing(Some(2));
    let mut p = Wide::default();
    p.bytes[0] = 7;
    let a = net.add_flow_with(Time(0), 0, 1, 100.0, p);
    assert_eq!(net.payload(a).grouped, 0);
    let b = net.add_flow(Time(0), 0, 2, 100.0);
    assert!(net.has_group(0));
    assert_eq!((net.payload(a).grouped, net.payload(b).grouped), (1, 1));
    let c = net.add_flow(Time(0), 0, 3, 100.0);
    assert!(net.is_grouped(c));
    assert_eq!(net.payload(c).grouped, 0);
    net.payload_mut(c).bytes[1] = 9;
    net.remove_flow(Time(0), a);
    net.remove_flow(Time(0), c);
    assert_eq!(net.payload(a).bytes[0], 7);
    assert_eq!(net.payload(c).bytes[1], 9);
}
