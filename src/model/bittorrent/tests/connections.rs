//! BitTorrent tests of the connection tables and the tracker: link cross-references
//! under churn, the inactivity timeout, re-announcing when starving, and closing
//! redundant connections.

use super::*;

/// The link table's cross-references stay consistent under churn (arrivals,
/// departures that swap-remove links and reuse blocks, latency): every link's
/// connection record points back at it, the other end's copy (at `peer`) points
/// back and mirrors the choke flag and the requests in flight, the per-node bit
/// masks of unchoked and unchoking links match the flags, and every part in
/// flight names the position of its connection. Checked at 40 instants of a run
/// with Poisson arrivals, short seeding and latency (the moves happen when
/// connections close), without and with an inactivity timeout (which closes
/// connections from inside a rechoke).
#[test]
fn link_table_cross_references_hold_under_churn() {
    for timeout in [0.0, 20.0] {
        link_table_cross_references_hold(timeout);
    }
}
fn link_table_cross_references_hold(inactivity_timeout: f64) {
    let c = churn_class(
        (60, 125_000.0, 500_000.0),
        1.0,
        Seeding::Exponential(5.0),
        0.01,
    );
    let mut s = bt(40 * 65_536, 65_536, 250_000.0, vec![c]);
    s.network = ModelKind::Fast;
    s.bittorrent.max_connections = 12;
    s.bittorrent.requests_in_flight = 2;
    s.bittorrent.inactivity_timeout = inactivity_timeout;
    let (mut moved, mut idle_closes) = (0, 0);
    for k in 1..=40 {
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(k as f64 * 2.0).unwrap());
        moved += p.free_blocks.len();
        idle_closes += p.stats.idle_closes;
        for n in 0..p.nodes.len() as NodeId {
            if !p.present[n as usize] {
                assert_eq!(p.block[n as usize], NONE, "a departed node holds no block");
                continue;
            }
            for (i, l) in p.links_of(n).iter().enumerate() {
                let k = &p.conns[l.conn as usize];
                assert!(k.alive);
                assert_eq!(k.ends[l.end as usize], n);
                assert_eq!(k.pos[l.end as usize], i as u32);
                let m = p.lk(l.other, l.peer);
                assert_eq!((m.other, m.peer, m.conn), (n, i as u32, l.conn));
                assert_eq!(m.unchoked, l.unchoking, "choke flags mirror");
                assert_eq!(m.requested, l.in_flight, "requests in flight mirror");
                if !p.unchoked_mask.is_empty() {
                    let bit = |mask: &Vec<u128>| mask[n as usize] >> i & 1 == 1;
                    assert_eq!(bit(&p.unchoked_mask), l.unchoked, "unchoked bit");
                    assert_eq!(bit(&p.unchoking_mask), l.unchoking, "unchoking bit");
                }
            }
            if !p.unchoked_mask.is_empty() {
                let d = p.deg[n as usize];
                assert_eq!(p.unchoked_mask[n as usize] >> d, 0, "no bit past the links");
                assert_eq!(
                    p.unchoking_mask[n as usize] >> d,
                    0,
                    "no bit past the links"
                );
            }
            for q in &p.nodes[n as usize].downloads {
                assert_eq!(p.lk(n, q.pos).conn, q.conn, "a part knows its link");
            }
        }
    }
    // The runs had departures (links swap-removed, blocks given back), and with the
    // timeout, connections closed by it.
    assert!(moved > 0);
    assert_eq!(idle_closes > 0, inactivity_timeout > 0.0, "{idle_closes}");
}
/// The inactivity timeout closes a connection at the rechoke that finds it idle
/// for the `idle_checks`-th time in a row, and not before. One peer fetches 10
/// chunks of 64 KiB alone from a 250 kB/s server: done at 655,360 / 250,000 =
/// 2.62 s, after which neither end is interested in the other. Both rechoke at 10,
/// 20, 30 s (first one a rechoke interval after arriving at 0), so with a 30 s
/// timeout (3 checks) the connection is idle at 10, 20 and 30 s and closes at 30 s;
/// without it, it stays. A second peer arriving at 100 s still finds both (the
/// server's slot was free and the seed stays), and completes.
#[test]
fn inactivity_timeout_closes_an_idle_connection_at_its_third_check() {
    let mut c = class(2, 125_000.0, f64::INFINITY);
    c.arrival = Arrival::Times(vec![0.0, 100.0]);
    let mut s = bt(10 * 65_536, 65_536, 250_000.0, vec![c]);
    s.bittorrent.inactivity_timeout = 30.0;
    assert_eq!(s.bittorrent.idle_checks(), 3);
    let at = |secs: f64, s: &Scenario| {
        let mut sim = Sim::new(s);
        let mut p = BitTorrent::new(s, &mut sim);
        p.stats.trace = Some(Vec::new());
        sim.run(&mut p, Time::from_secs_ceil(secs).unwrap());
        p
    };
    let p = at(29.9, &s);
    assert!(p.nodes[1].complete, "the first peer is done long before");
    assert_eq!(
        (p.deg[1], p.deg[SERVER as usize], p.stats.idle_closes),
        (1, 1, 0)
    );
    let p = at(30.1, &s);
    assert_eq!(
        (p.deg[1], p.deg[SERVER as usize], p.stats.idle_closes),
        (0, 0, 1)
    );
    let closes = trace_times(&p, "idle-close");
    assert_eq!(closes.len(), 1);
    assert!((closes[0] - 30.0).abs() < 1e-9, "closed at {} s", closes[0]);
    // Without the timeout the idle connection is kept.
    let mut keep = s.clone();
    keep.bittorrent.inactivity_timeout = 0.0;
    let p = at(30.1, &keep);
    assert_eq!((p.deg[1], p.stats.idle_closes), (1, 0));
    // The late peer connects to the server and the seed and completes.
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    assert!(r.peers.iter().all(|p| p.completion.is_some()));
    assert_bytes_conserved(&s, &r);
}
/// A starving leecher announces again although it has `min_peers` neighbours.
/// Hand-worked: `max_connections` = 2, `min_peers` = 1, one chunk of 400 kB, a
/// 2000 B/s server, every peer a free rider with unlimited download. E1 and E2
/// arrive at 0 s and fill the server's table and each other's (the server sends
/// each 1000 B/s, so they complete and leave at 400 s). G1 arrives at 10 s, finds
/// every table full and schedules an announce at 310 s; G2 arrives at 11 s and
/// connects to G1, so both have `min_peers` neighbours that hold nothing. G1's
/// announce at 310 s still finds the server full (E1 and E2 are there until 400 s).
/// Without the starving rule nobody ever announces again and the run stalls with
/// 2 of 4 complete (checked by disabling the rule). With it, G1 announces at its
/// rechoke at 610 s (10 s + 60 rechoke intervals, the first at least 300 s after
/// its 310 s announce) and G2 at 611 s (its 311 s announce found the server full),
/// both connect to the now empty server (which unchokes at once). G1 gets 2000 B
/// alone in its first second, then both get 1000 B/s, so G1 completes at 611 +
/// 398 = 1009 s; G2 then has 2000 B left at 2000 B/s and completes at 1010 s.
#[test]
fn a_starving_leecher_announces_again() {
    let mut e = class(2, 0.0, f64::INFINITY);
    e.seeding = Seeding::Fixed(0.0);
    let mut g = class(2, 0.0, f64::INFINITY);
    g.name = "late".into();
    g.arrival = Arrival::Times(vec![10.0, 11.0]);
    let mut s = bt(400_000, 400_000, 2000.0, vec![e, g]);
    s.bittorrent.max_connections = 2;
    s.bittorrent.min_peers = 1;
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    let done = completion_times(&r);
    for &t in &done[..2] {
        assert!((t - 400.0).abs() < 1e-6, "early peers done at {t} s");
    }
    assert!((done[2] - 1009.0).abs() < 1e-6, "G1 done at {} s", done[2]);
    assert!((done[3] - 1010.0).abs() < 1e-6, "G2 done at {} s", done[3]);
    assert_bytes_conserved(&s, &r);
}
/// `close_redundant`, by hand. A 400 kB file in one chunk, a 2000 B/s server, three
/// peers of 2000 B/s up, `max_connections = 2`, `min_peers = 1`, all arriving at 0 s
/// in order. P1 connects to the server; P2 to the server and P1: all three tables
/// are full, so P3 connects to nobody and announces again at 300 s and 600 s. The
/// server sends to P1 and P2 at 1000 B/s each: both complete at 400 s (neither has
/// a chunk to share before). Without the option the server, P1 and P2 keep their
/// connections (seeds to seeds) and P3's announces find every table full for ever:
/// stalled with 2 of 3 complete. With it P1 closes its connection to the server at
/// 400 s, and P2 its two (to the server and to P1, now a seed): 3 closes. P3's
/// announce at 600 s connects it to two of the three seeds, each uploading at
/// 2000 B/s; the second link splits the part of the first, so it receives 4000 B/s
/// and completes at 600 + 400,000 / 4000 = 700 s.
#[test]
fn close_redundant_frees_the_tables_that_seeds_hold() {
    let s0 = {
        let mut s = bt(
            400_000,
            400_000,
            2000.0,
            vec![class(3, 2000.0, f64::INFINITY)],
        );
        s.bittorrent.max_connections = 2;
        s.bittorrent.min_peers = 1;
        s
    };
    let r = simulate(&s0);
    assert_eq!(r.summary.status, RunStatus::Stalled);
    assert_eq!(r.peers.iter().filter(|p| p.completion.is_some()).count(), 2);
    let mut s = s0.clone();
    s.bittorrent.close_redundant = true;
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    let done = completion_times(&r);
    for &t in &done[..2] {
        assert!((t - 400.0).abs() < 1e-6, "first peers done at {t} s");
    }
    assert!((done[2] - 700.0).abs() < 1e-6, "P3 done at {} s", done[2]);
    assert_bytes_conserved(&s, &r);
    // The closes themselves: none before 400 s, all three at 400 s.
    let mut sim = Sim::new(&s);
    let mut p = BitTorrent::new(&s, &mut sim);
    p.stats.trace = Some(Vec::new());
    sim.run(&mut p, Time::from_secs_ceil(500.0).unwrap());
    let closes = trace_times(&p, "redundant-close");
    assert_eq!(closes.len(), 3, "{closes:?}");
    assert!(
        closes.iter().all(|t| (t - 400.0).abs() < 1e-6),
        "{closes:?}"
    );
    assert_eq!(p.stats.redundant_closes, 3);
    assert_eq!(
        (p.deg[SERVER as usize], p.deg[1], p.deg[2], p.deg[3]),
        (0, 0, 0, 0)
    );
}
