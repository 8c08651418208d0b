//! Tests of the clients' choke rules (`optimistic_pick`, `lost_interest`, the
//! rate-based slot count of seeds), each on a small swarm worked by hand. The
//! leechers are free riders (upload 0), so the server is the only uploader and its
//! decisions alone set the times.

use super::tests::{bt, class};
use super::*;
use crate::model::simulate;
use crate::scenario::{ChokerKind, LostInterest, OptimisticPick, SeedChoker};

/// A server of 1 MB/s and `n` free riders with unlimited downloads, fetching a
/// file of `chunks` chunks of `chunk` bytes; one regular unchoke slot.
fn one_slot_server(n: u64, chunks: u64, chunk: u64) -> Scenario {
    let mut s = bt(
        chunks * chunk,
        chunk,
        1_000_000.0,
        vec![class(n, 0.0, f64::INFINITY)],
    );
    s.bittorrent.unchoke_slots = 1;
    s
}

/// The neighbour the server unchokes optimistically at each time of `at`, and its
/// regular unchoke (the same at every time, or the test's hand derivation fails).
fn optimistic_sequence(s: &Scenario, at: &[f64]) -> (Vec<NodeId>, NodeId) {
    let mut sim = Sim::new(s);
    let mut p = BitTorrent::new(s, &mut sim);
    let mut seq = Vec::new();
    let mut regular = Vec::new();
    for &t in at {
        sim.run(&mut p, Time::from_secs_ceil(t).unwrap());
        let links = p.links_of(SERVER);
        let opt: Vec<NodeId> = links
            .iter()
            .filter(|l| l.optimistic)
            .map(|l| l.other)
            .collect();
        assert_eq!(opt.len(), 1, "one optimistic unchoke at {t} s");
        seq.push(opt[0]);
        regular.extend(
            links
                .iter()
                .filter(|l| l.unchoking && !l.optimistic)
                .map(|l| l.other),
        );
    }
    assert!(
        regular.windows(2).all(|w| w[0] == w[1]) && regular.len() == at.len(),
        "one regular unchoke, the same throughout: {regular:?}"
    );
    (seq, regular[0])
}

/// libtorrent's optimistic unchoke (`optimistic_pick = "oldest"`): the server
/// (seed choker `fastest`, 1 regular slot, a rechoke and an optimistic round every
/// 10 s) serves 4 free riders from a 100 MB file, so nobody completes in the 60 s
/// looked at. By hand: the regular slot goes at time 0 to one peer R, which then
/// has the highest rate to it over every 20-s window (at least 10 MB against at
/// most 5 MB for any other), so it stays regular. The other three, A, B, C in the
/// server's link order, have never been optimistically unchoked: at 10 s the first
/// in link order, A; at 20 s B (A's last optimistic unchoke is now 10 s); at 30 s
/// C; at 40 s the oldest, A (10 s), then B (20 s), C (30 s): A, B, C, A, B, C. A
/// random pick (the default) gives another sequence with this seed (checked
/// below).
#[test]
fn oldest_optimistic_unchoke_rotates_through_the_candidates() {
    let mut s = one_slot_server(4, 100, 1_000_000);
    let c = &mut s.bittorrent;
    c.seed_choker = SeedChoker::Fastest;
    c.optimistic_interval = 10.0;
    c.optimistic_pick = OptimisticPick::Oldest;
    let at = [10.5, 20.5, 30.5, 40.5, 50.5, 60.5];
    let (seq, r) = optimistic_sequence(&s, &at);
    // The link order of the three others, as the server holds them at 10.5 s.
    let mut sim = Sim::new(&s);
    let mut p = BitTorrent::new(&s, &mut sim);
    sim.run(&mut p, Time::from_secs_ceil(10.5).unwrap());
    let order: Vec<NodeId> = p
        .links_of(SERVER)
        .iter()
        .map(|l| l.other)
        .filter(|&m| m != r)
        .collect();
    assert_eq!(order.len(), 3);
    let want: Vec<NodeId> = order.iter().chain(order.iter()).copied().collect();
    assert_eq!(seq, want, "regular {r}, link order {order:?}");
    // Without the rule (a random pick) the sequence differs: the test can fail.
    s.bittorrent.optimistic_pick = OptimisticPick::Random;
    assert_ne!(optimistic_sequence(&s, &at).0, want);
}

/// Mainline's optimistic unchoke (`optimistic_pick = "list"`): the same server,
/// rechoking every 10 s with an optimistic round every 30 s. By hand: at 10 s
/// (an optimistic round) the list, in node-id order from 0, is rotated to the
/// first choked candidate, the lowest id other than the regular R; that one, A,
/// is the first non-regular peer in list order: optimistic. At 20 and 30 s the
/// list is not rotated and A is still the first non-regular one. At 40 s the list
/// is rotated to the first choked candidate after A (A itself is unchoked): B, the
/// next id; at 70 s C. So A, A, A, B, B, B, C.
#[test]
fn list_optimistic_unchoke_follows_the_rotating_list() {
    let mut s = one_slot_server(4, 100, 1_000_000);
    let c = &mut s.bittorrent;
    c.seed_choker = SeedChoker::Fastest;
    c.optimistic_pick = OptimisticPick::List;
    let at = [10.5, 20.5, 30.5, 40.5, 50.5, 60.5, 70.5];
    let (seq, r) = optimistic_sequence(&s, &at);
    let others: Vec<NodeId> = (1..=4).filter(|&m| m != r).collect();
    let (a, b, c) = (others[0], others[1], others[2]);
    assert_eq!(seq, vec![a, a, a, b, b, b, c], "regular {r}");
    // Without the rule (a random pick) the sequence differs: the test can fail.
    s.bittorrent.optimistic_pick = OptimisticPick::Random;
    assert_ne!(optimistic_sequence(&s, &at).0, vec![a, a, a, b, b, b, c]);
}

/// The completion times of the two free riders of a one-chunk file (500 kB) from
/// a 1 MB/s server with one regular slot, under `rule`.
fn second_completion(rule: LostInterest) -> Vec<f64> {
    let mut s = one_slot_server(2, 1, 500_000);
    s.bittorrent.lost_interest = rule;
    completion_times_sorted(&s)
}

/// What the server does when the peer it unchokes completes (and so loses
/// interest), by hand: at time 0 it unchokes one of the two peers, which gets the
/// 500 kB chunk at 1 MB/s by 0.5 s and loses interest. `refill` (swarmsim's) and
/// mainline's `rechoke` give the slot to the other at once: done at 1.0 s.
/// libtorrent's `next-tick` chokes it and rechokes at the next whole second, 1 s:
/// done at 1.5 s. Transmission's `next-rechoke` waits for the periodic rechoke at
/// 10 s: done at 10.5 s.
#[test]
fn lost_interest_rules_by_hand() {
    let close = |a: Vec<f64>, b: [f64; 2]| {
        assert!(
            a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6),
            "{a:?} against {b:?}"
        );
    };
    close(second_completion(LostInterest::Refill), [0.5, 1.0]);
    close(second_completion(LostInterest::Rechoke), [0.5, 1.0]);
    close(second_completion(LostInterest::NextTick), [0.5, 1.5]);
    close(second_completion(LostInterest::NextRechoke), [0.5, 10.5]);
}

/// libtorrent's rate-based slot count also sets a seed's slots (the count is
/// session-wide, `recalculate_unchoke_slots`, src/session_impl.cpp, 2.0.8). By
/// hand: three free riders, a one-chunk file (500 kB), a 1 MB/s server, a rechoke
/// and an optimistic round every 10 s. Nobody has been sent anything, so the count
/// is 0: no regular slot and no unchoke before the first rechoke (no preemptive
/// unchoke under this choker). Each rechoke then unchokes one peer
/// optimistically, which completes 0.5 s later: 10.5, 20.5, 30.5 s. With the
/// seed keeping `unchoke_slots` (4), all three were unchoked at once and shared
/// the server: 1.5 s each (the build before this rule gives that).
#[test]
fn rate_based_slot_count_sets_the_seeds_slots() {
    let mut s = one_slot_server(3, 1, 500_000);
    let c = &mut s.bittorrent;
    c.unchoke_slots = 4;
    c.choker = ChokerKind::RateBased;
    c.optimistic_interval = 10.0;
    let t = completion_times_sorted(&s);
    assert!(
        t.iter()
            .zip([10.5, 20.5, 30.5])
            .all(|(x, y)| (x - y).abs() < 1e-6),
        "{t:?}"
    );
    // The same with swarmsim's round-robin seed choker, which has no optimistic
    // unchoke: its slots are libtorrent's count + 1 = 1, so one turn per rechoke,
    // the same times (a count of 0 slots would unchoke nobody, ever).
    s.bittorrent.seed_choker = SeedChoker::RoundRobin;
    let t = completion_times_sorted(&s);
    assert!(
        t.iter()
            .zip([10.5, 20.5, 30.5])
            .all(|(x, y)| (x - y).abs() < 1e-6),
        "{t:?}"
    );
}

/// The peers' completion times, seconds, in increasing order.
fn completion_times_sorted(s: &Scenario) -> Vec<f64> {
    let r = simulate(s);
    let mut t: Vec<f64> = r
        .peers
        .iter()
        .map(|p| p.completion.expect("completes").as_secs_f64())
        .collect();
    t.sort_by(f64::total_cmp);
    t
}
