//! Tests of the processor-sharing groups against the per-flow bookkeeping.
//!
//! Every case replays one random sequence of flow additions, cancellations, shrinks,
//! growths
//! and completions on two networks with the same capacities and model: one keeps
//! every flow's bytes in its record (no groups), the other groups an uploader's
//! flows from `min_flows` on. The expected values are the per-flow network's: rates
//! equal to the bit (both compute `capacity / flows`), bytes delivered and
//! completion times equal up to rounding (see [`TOL_NS`], [`TOL_BYTES`]).

use super::*;
use proptest::prelude::*;

/// Completion times may differ by rounding: the per-flow record subtracts
/// `rate * dt` from its bytes left at every rate change, the group adds it to its
/// clock and subtracts the clock from the tag. Either sum carries a relative error
/// of about 1e-16 per rate change (at most a few hundred here), on times of at most
/// a few hundred seconds: far below a nanosecond, but the rounding up to the
/// nanosecond can then fall on either side: 1 ns.
const TOL_NS: u64 = 1;
/// Bytes delivered may differ by the same rounding, relative to the flow's size.
const TOL_BYTES: f64 = 1e-9;
/// After a group dissolves its flows re-enter the lists in another order than the
/// per-flow network's, and the max-min model sums in list order: rates may then
/// differ by its summation noise (it keeps a rate's old bits below 1e-12 relative,
/// see `maxmin::NOISE`, and the noise itself is about 1e-16 per operation).
const RATE_NOISE: f64 = 1e-11;

#[derive(Debug, Clone)]
enum Op {
    /// A flow from uploader `src % uploaders` to node `dst` of `bytes` bytes.
    Add { src: u32, dst: u32, bytes: f64 },
    /// Cancel the live flow at this index (modulo the number of live flows).
    Cancel(usize),
    /// Shrink the live flow at this index to this fraction of its bytes left.
    Shrink(usize, f64),
    /// Lengthen the live flow at this index by this many bytes (a request
    /// appended to the stream being served).
    Grow(usize, f64),
    /// Advance to the earliest completion (per the per-flow network) and end it.
    Complete,
    /// Let this many milliseconds pass (at most up to the next completion).
    Wait(u32),
}

#[derive(Debug, Clone)]
struct PsCase {
    up: Vec<f64>,
    down: Vec<f64>,
    uploaders: u32,
    min_flows: usize,
    max_min: bool,
    ops: Vec<Op>,
}

/// Up to 3 uploaders (with capacities of 1 to 100 MB/s) and 12 downloaders, most
/// with unlimited downloads and, if `limited`, some with a limited one (a flow to
/// one dissolves its uploader's group); flows of 1 kB to 1 MB.
fn ps_case(limited: bool) -> impl Strategy<Value = PsCase> {
    (1..4u32, 2..13usize, 1..5usize, any::<bool>()).prop_flat_map(
        move |(uploaders, downloaders, min_flows, max_min)| {
            let n = uploaders as usize + downloaders;
            let up = prop::collection::vec(1e6f64..1e8, n);
            let down_one = if limited {
                prop_oneof![4 => Just(f64::INFINITY), 1 => 1e5f64..1e8].boxed()
            } else {
                Just(f64::INFINITY).boxed()
            };
            let down = prop::collection::vec(down_one, n);
            let op = prop_oneof![
                5 => (0..uploaders, uploaders..n as u32, 1e3f64..1e6)
                    .prop_map(|(src, dst, bytes)| Op::Add { src, dst, bytes }),
                1 => any::<usize>().prop_map(Op::Cancel),
                1 => (any::<usize>(), 0.0f64..1.0).prop_map(|(i, x)| Op::Shrink(i, x)),
                1 => (any::<usize>(), 1e3f64..1e6).prop_map(|(i, x)| Op::Grow(i, x)),
                4 => Just(Op::Complete),
                1 => (1..50u32).prop_map(Op::Wait),
            ];
            let ops = prop::collection::vec(op, 1..150);
            (up, down, ops).prop_map(move |(up, mut down, ops)| {
                // Uploaders download nothing here; keep their downloads unlimited.
                for d in down.iter_mut().take(uploaders as usize) {
                    *d = f64::INFINITY;
                }
                PsCase {
                    up,
                    down,
                    uploaders,
                    min_flows,
                    max_min,
                    ops,
                }
            })
        },
    )
}

fn network(c: &PsCase, min_flows: Option<usize>) -> Network {
    let kind = if c.max_min {
        ModelKind::MaxMin
    } else {
        ModelKind::Fast
    };
    let mut net: Network = Network::new(c.up.clone(), c.down.clone(), kind.build(c.up.len()));
    net.set_processor_sharing(min_flows);
    net
}

/// The two networks agree on every live flow: rate to the bit (`exact`) or to the
/// max-min model's summation noise, bytes delivered and completion time to
/// rounding; each group's next completion is its earliest flow's, and its head is
/// that flow.
fn assert_agree(per_flow: &Network, grouped: &Network, live: &[FlowId], now: Time, exact: bool) {
    for &f in live {
        let (a, b) = (per_flow.rate(f), grouped.rate(f));
        if exact {
            assert_eq!(a.to_bits(), b.to_bits(), "flow {f}: rate {a} vs {b}");
        } else {
            assert!(
                (a - b).abs() <= RATE_NOISE * a.abs(),
                "flow {f}: rate {a} vs {b}"
            );
        }
        let size = per_flow.graph().flow(f).size;
        let (a, b) = (per_flow.delivered(f, now), grouped.delivered(f, now));
        assert!(
            (a - b).abs() <= TOL_BYTES * size,
            "flow {f}: delivered {a} vs {b}"
        );
        let (a, b) = (per_flow.completion_time(f), grouped.completion_time(f));
        match (a, b) {
            (Some(a), Some(b)) => {
                assert!(
                    a.0.abs_diff(b.0) <= TOL_NS,
                    "flow {f}: completion {a} vs {b}"
                )
            }
            _ => assert_eq!(a, b, "flow {f}"),
        }
    }
    for u in 0..grouped.graph().up.len() as NodeId {
        if let Some(g) = grouped.groups.get(u as usize).and_then(|g| g.as_deref()) {
            let earliest = live
                .iter()
                .filter(|&&f| grouped.graph().endpoints(f).0 == u)
                .filter_map(|&f| grouped.completion_time(f))
                .min();
            assert_eq!(g.len(), grouped.uploads(u));
            assert!(grouped.has_group(u));
            assert_eq!(
                grouped.group_completion(u),
                earliest,
                "group {u}'s next completion is its earliest flow's"
            );
            if let Some(t) = earliest {
                let head = grouped.group_head(u).expect("a flow");
                assert_eq!(grouped.completion_time(head), Some(t));
            }
        }
    }
}

/// Replays a case on both networks, checking them after every operation; returns
/// the completions in the order the per-flow network had them, with the time each
/// network gives.
fn replay_both(c: &PsCase, exact: bool) -> Vec<(FlowId, Time, Time)> {
    let mut per_flow = network(c, None);
    let mut grouped = network(c, Some(c.min_flows));
    let mut live: Vec<FlowId> = Vec::new();
    let mut now = Time::ZERO;
    let mut done = Vec::new();
    let mut had_group = vec![false; c.up.len()];
    for op in &c.ops {
        match *op {
            Op::Add { src, dst, bytes } => {
                let src = src % c.uploaders;
                let a = per_flow.add_flow(now, src, dst, bytes);
                let b = grouped.add_flow(now, src, dst, bytes);
                assert_eq!(a, b, "both networks reuse ids alike");
                live.push(a);
            }
            Op::Cancel(i) if !live.is_empty() => {
                let f = live.swap_remove(i % live.len());
                let a = per_flow.remove_flow(now, f);
                let b = grouped.remove_flow(now, f);
                let size = per_flow.graph().slots[f as usize].flow.size;
                assert!((a - b).abs() <= TOL_BYTES * size, "cancel {f}: {a} vs {b}");
            }
            Op::Shrink(i, x) if !live.is_empty() => {
                let f = live[i % live.len()];
                let left = x * per_flow.remaining_bytes(f, now);
                per_flow.shrink_flow(now, f, left);
                grouped.shrink_flow(now, f, left);
            }
            Op::Grow(i, x) if !live.is_empty() => {
                let f = live[i % live.len()];
                per_flow.grow_flow(now, f, x);
                grouped.grow_flow(now, f, x);
            }
            Op::Complete => {
                let next = live
                    .iter()
                    .filter_map(|&f| per_flow.completion_time(f).map(|t| (t, f)))
                    .min();
                let Some((t, f)) = next else { continue };
                let t2 = grouped.completion_time(f).expect("a rate in both");
                // The grouped network's own earliest completion is within rounding.
                let own = live
                    .iter()
                    .filter_map(|&g| grouped.completion_time(g))
                    .min()
                    .expect("a flow");
                assert!(own.0.abs_diff(t.0) <= TOL_NS);
                now = t.max(t2);
                live.retain(|&g| g != f);
                let a = per_flow.remove_flow(now, f);
                let b = grouped.remove_flow(now, f);
                let size = per_flow.graph().slots[f as usize].flow.size;
                assert!(
                    (a - size).abs() <= TOL_BYTES * size,
                    "{f} delivered {a} of {size}"
                );
                assert!(
                    (b - size).abs() <= TOL_BYTES * size,
                    "{f} delivered {b} of {size}"
                );
                done.push((f, t, t2));
            }
            Op::Wait(ms) => {
                // Not past a completion: the kernel ends every flow when it is due.
                let due = live
                    .iter()
                    .filter_map(|&f| per_flow.completion_time(f))
                    .chain(live.iter().filter_map(|&f| grouped.completion_time(f)))
                    .min()
                    .unwrap_or(Time::MAX);
                now = Time(now.0 + ms as u64 * 1_000_000).min(due);
            }
            Op::Cancel(_) | Op::Shrink(..) | Op::Grow(..) => continue,
        }
        per_flow.rebalance(now);
        grouped.rebalance(now);
        assert_agree(&per_flow, &grouped, &live, now, exact);
        // An uploader whose group went away is listed among the changed groups:
        // the next completion its owner filed for the group is void (and with all
        // its flows cancelled nothing else would tell the owner).
        for (u, had) in had_group.iter_mut().enumerate() {
            let has = grouped.has_group(u as NodeId);
            if *had && !has {
                assert!(
                    grouped.changed_groups().contains(&(u as NodeId)),
                    "node {u}'s group dissolved unlisted"
                );
            }
            *had = has;
        }
    }
    done
}

proptest! {
    #![proptest_config(crate::test_util::cases(300))]

    /// Groups that never dissolve (every download unlimited).
    #[test]
    fn groups_equal_per_flow_bookkeeping(c in ps_case(false)) {
        let done = replay_both(&c, true);
        for (f, a, b) in done {
            prop_assert!(a.0.abs_diff(b.0) <= TOL_NS, "flow {} done at {} vs {}", f, a, b);
        }
    }

    /// Groups that form and dissolve (some downloads limited).
    #[test]
    fn groups_that_dissolve_equal_per_flow_bookkeeping(c in ps_case(true)) {
        replay_both(&c, false);
    }
}

#[test]
fn a_group_forms_at_min_flows_and_dissolves_on_a_limited_download() {
    // Uploader 0 (10 B/s) sends to unlimited nodes 1 and 2, then to node 3 whose
    // download is limited: with min_flows = 2 the second flow forms the group and
    // the third dissolves it.
    let down = vec![f64::INFINITY, f64::INFINITY, f64::INFINITY, 1.0];
    let mut net: Network =
        Network::new(vec![10.0, 0.0, 0.0, 0.0], down, ModelKind::MaxMin.build(4));
    net.set_processor_sharing(Some(2));
    let a = net.add_flow(Time(0), 0, 1, 100.0);
    assert!(!net.is_grouped(a));
    let b = net.add_flow(Time(0), 0, 2, 100.0);
    assert!(net.is_grouped(a) && net.is_grouped(b));
    assert!(net.graph().out_flows[0].is_empty());
    net.rebalance(Time(0));
    // 10 B/s shared by two: 5 B/s each, 100 bytes in 20 s.
    assert_eq!(net.rate(a), 5.0);
    assert_eq!(net.completion_time(a), Some(Time(20_000_000_000)));
    let four = Time(4_000_000_000);
    let c = net.add_flow(four, 0, 3, 100.0);
    assert!(!net.is_grouped(a) && !net.is_grouped(c));
    assert_eq!(net.graph().out_flows[0].len(), 3);
    net.rebalance(four);
    // Max-min: c is capped at its download (1 B/s), a and b share the other 9 B/s;
    // a has 100 - 4 * 5 = 80 bytes left at 4 s: it finishes 80 / 4.5 s later.
    assert_eq!(net.rate(c), 1.0);
    assert_eq!(net.rate(a), 4.5);
    assert_eq!(net.delivered(a, four), 20.0);
    assert_eq!(
        net.completion_time(a),
        Some(Time(4_000_000_000 + (80.0f64 / 4.5 * 1e9).ceil() as u64))
    );
}
