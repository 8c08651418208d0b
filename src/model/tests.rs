//! Tests of the kernel and the client-server protocol.

use super::*;
use crate::network::ModelKind;
use crate::scenario::PeerClass;
use proptest::prelude::*;

fn scenario(
    file: u64,
    chunk: u64,
    u_s: f64,
    classes: Vec<(u64, f64)>,
    model: ModelKind,
) -> Scenario {
    Scenario {
        name: "t".into(),
        seed: 1,
        file_bytes: file,
        chunk_bytes: chunk,
        server_upload: u_s,
        classes: classes
            .into_iter()
            .enumerate()
            .map(|(i, (count, download))| PeerClass {
                name: format!("c{i}"),
                count,
                upload: 1000.0,
                download,
                arrival: crate::scenario::Arrival::Flash,
                seeding: crate::scenario::Seeding::Never,
                latency: 0.0,
            })
            .collect(),
        protocol: ProtocolKind::ClientServer,
        network: model,
        bittorrent: Default::default(),
        max_time: 1e9,
        sample_interval: 10.0,
    }
}

/// Random heterogeneous client-server scenarios: 1-4 classes of 1-12 peers, download
/// capacities spread over two orders of magnitude around u_s / N (so either term of
/// D_cs may dominate), chunk sizes that do and do not divide the file.
fn cs_case() -> impl Strategy<Value = Scenario> {
    (
        1_000u64..200_000,
        1u64..60,
        1e3f64..1e6,
        prop::collection::vec((1u64..12, 0.01f64..3.0), 1..4),
    )
        .prop_map(|(file, chunks, u_s, cls)| {
            let chunk = file.div_ceil(chunks).max(1);
            let n: u64 = cls.iter().map(|c| c.0).sum();
            let classes = cls
                .into_iter()
                .map(|(count, f)| (count, f * u_s / n as f64))
                .collect();
            scenario(file, chunk, u_s, classes, ModelKind::MaxMin)
        })
}

proptest! {
    #![proptest_config(crate::test_util::cases(250))]

    /// Client-server under max-min attains D_cs = max(N F/u_s, F/d_min) exactly.
    ///
    /// Proof. Every peer has one flow from the server; progressive filling gives peer i
    /// the rate min(d_i, L) for a common level L, so a peer with a larger d_i is never
    /// slower and the peer with d_min finishes last. Case 1: L >= d_min at t = 0. The
    /// d_min peer gets d_min for as long as it downloads (L only rises as peers
    /// leave), so it finishes at F/d_min; the server sent N F bytes by then at rate at
    /// most u_s, so F/d_min >= N F/u_s and the time is the max. Case 2: L < d_min at
    /// t = 0. Then every d_i > L, all peers get the same rate L = u_s/N, progress in
    /// lockstep and finish together at N F/u_s with the server saturated throughout;
    /// and F/d_min < F/L = N F/u_s. Chunk boundaries change nothing: each peer's next
    /// chunk starts the instant the previous one ends. Integer nanoseconds round each
    /// chunk's end up by less than 1 ns, hence the tolerance of 2 ns per chunk.
    #[test]
    fn client_server_attains_d_cs(s in cs_case()) {
        let r = simulate(&s);
        prop_assert_eq!(r.summary.status, RunStatus::Completed);
        let d = r.summary.distribution_time_s;
        let bound = r.summary.bounds.d_cs;
        let tol = 1e-9 * bound + 2e-9 * s.chunks() as f64;
        prop_assert!((d - bound).abs() <= tol, "measured {} vs D_cs {} (tol {})", d, bound, tol);
        // Every byte accounted for: each peer downloaded exactly F from the server.
        for p in &r.peers {
            prop_assert_eq!(p.bytes_downloaded, s.file_bytes as f64);
            prop_assert_eq!(p.bytes_from_server, s.file_bytes as f64);
        }
    }

    /// The fast model never beats the bound (it never exceeds a capacity), and equals
    /// it when downloads do not bind.
    #[test]
    fn fast_client_server_never_beats_d_cs(mut s in cs_case()) {
        s.network = ModelKind::Fast;
        let r = simulate(&s);
        let d = r.summary.distribution_time_s;
        prop_assert!(d >= r.summary.bounds.d_cs * (1.0 - 1e-9));
    }
}

#[test]
fn kurose_ross_client_server_hand_example() {
    // 30 peers, F = 450 MB, u_s = 1.25 MB/s, d = 10 MB/s: D_cs = 30 * 450e6 / 1.25e6
    // = 10800 s (3 h, the Kurose & Ross table's N = 30 entry).
    let s = scenario(
        450_000_000,
        262_144,
        1.25e6,
        vec![(30, 10e6)],
        ModelKind::MaxMin,
    );
    let r = simulate(&s);
    assert!((r.summary.distribution_time_s - 10800.0).abs() < 1e-9 * 10800.0 + 2e-9 * 1717.0);
    assert!((r.summary.bound_ratio - 1.0).abs() < 1e-9);
}

/// Runs client-server on `s` with processor-sharing groups from `min_flows` flows on
/// (`None`: every flow kept in its own record) and returns every peer's completion.
fn cs_completions(s: &Scenario, min_flows: Option<usize>) -> Vec<Time> {
    let mut sim: Sim = Sim::new(s);
    sim.enable_processor_sharing(min_flows);
    let status = sim.run(&mut ClientServer, Time::MAX);
    assert_eq!(status, RunStatus::Completed);
    sim.peers
        .iter()
        .map(|r| r.completion.expect("complete"))
        .collect()
}

/// Client-server swarms large enough to group (30 to 200 peers in 1 to 3 classes,
/// 1 to 8 chunks), mostly unlimited downloads, some classes limited (their flows
/// dissolve the server's group), in a flash crowd or Poisson arrivals.
fn cs_group_case() -> impl Strategy<Value = Scenario> {
    (
        100_000u64..5_000_000,
        1u64..9,
        1e5f64..1e8,
        prop::collection::vec((10u64..70, prop::option::weighted(0.2, 0.01f64..3.0)), 1..4),
        prop::option::of(0.1f64..100.0),
    )
        .prop_map(|(file, chunks, u_s, cls, poisson)| {
            let chunk = file.div_ceil(chunks).max(1);
            let n: u64 = cls.iter().map(|c| c.0).sum();
            let classes = cls
                .into_iter()
                .map(|(count, f)| (count, f.map_or(f64::INFINITY, |f| f * u_s / n as f64)))
                .collect();
            let mut s = scenario(file, chunk, u_s, classes, ModelKind::MaxMin);
            if let Some(rate) = poisson {
                for c in &mut s.classes {
                    c.arrival = crate::scenario::Arrival::Poisson { rate, start: 0.0 };
                }
            }
            s
        })
}

proptest! {
    #![proptest_config(crate::test_util::cases(40))]

    /// The server's processor-sharing group gives every peer the completion time of
    /// the per-flow bookkeeping, to rounding: each chunk's end may round up to the
    /// nanosecond on either side (1 ns per chunk, and the next chunk starts that much
    /// later), and the clock's float sums differ from the per-flow ones by about
    /// 1e-16 relative per rate change (1e-12 of the time covers thousands).
    #[test]
    fn server_group_equals_per_flow_bookkeeping(
        mut s in cs_group_case(),
        min_flows in 1usize..70,
        fast in any::<bool>(),
    ) {
        if fast {
            s.network = ModelKind::Fast;
        }
        let want = cs_completions(&s, None);
        let got = cs_completions(&s, Some(min_flows));
        for (p, (a, b)) in want.iter().zip(&got).enumerate() {
            let tol = 2 * s.chunks() + (1e-12 * a.0 as f64) as u64;
            prop_assert!(a.0.abs_diff(b.0) <= tol, "peer {}: {} vs {} (tol {} ns)", p, a, b, tol);
        }
    }
}

#[test]
fn grouped_client_server_attains_d_cs() {
    // 300 peers with unlimited downloads (grouped from PS_MIN_FLOWS flows on), F = 3
    // MB in 7 chunks, u_s = 1 MB/s: every peer gets u_s / N throughout and all
    // finish at D_cs = N F / u_s = 900 s, to 2 ns per chunk (as for the per-flow
    // bookkeeping, client_server_attains_d_cs).
    let s = scenario(
        3_000_000,
        428_572,
        1e6,
        vec![(300, f64::INFINITY)],
        ModelKind::MaxMin,
    );
    assert_eq!(s.chunks(), 7);
    let r = simulate(&s);
    let d = r.summary.distribution_time_s;
    assert!((d - 900.0).abs() <= 1e-9 * 900.0 + 2e-9 * 7.0, "{d}");
    for p in &r.peers {
        let done = p.completion.expect("complete").as_secs_f64();
        assert!((done - 900.0).abs() <= 1e-9 * 900.0 + 2e-9 * 7.0, "{done}");
        assert_eq!(p.bytes_downloaded, 3e6);
    }
}

/// A protocol that makes the server's processor-sharing group dissolve and then
/// cancels every one of its flows in the same callback: the server sends chunk 0 to
/// each peer of class 0 (unlimited downloads) as it arrives; at 1 s a timer starts a
/// flow to the last peer (a limited download, which dissolves the group) and cancels
/// all of the server's flows, the new one too. Nothing is sent after that.
struct DissolveThenCancel {
    flows: Vec<FlowId>,
    last: u32,
}

impl Protocol for DissolveThenCancel {
    type Timer = ();

    fn on_arrival(&mut self, sim: &mut Sim<()>, p: u32) {
        if p == self.last {
            sim.set_timer(sim.after(1.0), ());
        } else {
            self.flows.push(sim.start_transfer(SERVER, node_of(p), 0));
        }
    }

    fn on_transfer_done(&mut self, _sim: &mut Sim<()>, f: FlowId, t: Transfer) {
        panic!("flow {f} ({t:?}) finished, but every flow was cancelled at 1 s");
    }

    fn on_timer(&mut self, sim: &mut Sim<()>, _: ()) {
        assert!(
            sim.network().has_group(SERVER),
            "the server's flows are grouped"
        );
        self.flows
            .push(sim.start_transfer(SERVER, node_of(self.last), 0));
        assert!(
            !sim.network().has_group(SERVER),
            "a limited download dissolves it"
        );
        for f in std::mem::take(&mut self.flows) {
            sim.cancel_transfer(f, false);
        }
    }

    fn processor_sharing(&self) -> bool {
        true
    }
}

#[test]
fn a_dissolved_group_whose_flows_are_all_cancelled_leaves_no_completion_filed() {
    // 4 peers with unlimited downloads (grouped from 2 flows on) and 1 limited;
    // F = 1 MB in one chunk, u_s = 100 kB/s: the group's flows would finish at 40 s.
    // Every flow is cancelled at 1 s, so no transfer may finish afterwards: the run
    // reaches its horizon of 100 s with no flow and nobody complete.
    let s = scenario(
        1_000_000,
        1_000_000,
        1e5,
        vec![(4, f64::INFINITY), (1, 1e4)],
        ModelKind::MaxMin,
    );
    let mut sim: Sim<()> = Sim::new(&s);
    sim.enable_processor_sharing(Some(2));
    let mut p = DissolveThenCancel {
        flows: Vec::new(),
        last: 4,
    };
    let horizon = Time::from_secs_ceil(100.0).unwrap();
    assert_eq!(sim.run(&mut p, horizon), RunStatus::Horizon);
    assert_eq!(sim.network().active_flows(), 0);
    assert!(sim.peers.iter().all(|r| r.completion.is_none()));
}
