//! Tests of the block request pipeline: times computed by hand, the queue a choke
//! drops, and the invariants (bound, bytes, determinism) on random swarms.

use super::super::tests::{assert_bytes_conserved, bt, class};
use super::*;
use crate::engine::Time;
use crate::model::trace::MemorySink;
use crate::model::{RunStatus, simulate, simulate_observed};
use crate::network::ModelKind;
use crate::scenario::{
    Arrival, ChokerKind, IdleRetry, LostInterest, PickerKind, RequestRate, Scenario, SeedChoker,
    Seeding, WholePiecesRule,
};
use proptest::prelude::*;
use std::sync::atomic::AtomicBool;

/// `s` with the block pipeline, blocks of `block` bytes, a queue depth from `min`
/// to `max` blocks.
fn with_blocks(mut s: Scenario, block: u64, min: u32, max: u32) -> Scenario {
    let c = &mut s.bittorrent;
    c.requests = RequestModel::Blocks;
    c.block_size = block;
    c.request_queue_min = min;
    c.request_queue_max = max;
    // Block by block: no whole-piece mode (the tests of it set it).
    c.whole_pieces_threshold = 0.0;
    s
}

/// One uploader (the server, 100,000 B/s), one downloader with unlimited download:
/// served in order, one request at a time, the link is never idle, so the file
/// arrives in F / u = 470,000 / 100,000 = 4.7 s, and the chunks one after another,
/// the k-th (in arrival order) when the sizes of the first k have been sent:
/// t_k = (s_1 + ... + s_k) / u. Chunks of 100,000 B are not a whole number of
/// 16 KiB blocks (6 blocks and 1,696 B) and the last chunk is 70,000 B. Checked
/// with a queue of 2 blocks that follows the rate (3 s at 100,000 B/s: 18 blocks)
/// and with a queue deep enough for the whole file at once, under both bandwidth
/// models.
#[test]
fn one_uploader_sends_the_file_in_f_over_u_in_request_order() {
    let u = 100_000.0;
    for (min, max) in [(2, 500), (64, 64)] {
        for net in [ModelKind::Fast, ModelKind::MaxMin] {
            let mut s = with_blocks(
                bt(470_000, 100_000, u, vec![class(1, 0.0, f64::INFINITY)]),
                16_384,
                min,
                max,
            );
            s.network = net;
            let mut sink = MemorySink::default();
            let r = simulate_observed(&s, &AtomicBool::new(false), None, Some(&mut sink))
                .expect("not cancelled");
            assert_eq!(r.summary.status, RunStatus::Completed);
            let t = r.peers[0].completion.unwrap().as_secs_f64();
            assert!((t - 4.7).abs() < 1e-6, "{t} s, queue {min}..{max}, {net:?}");
            let mut sent = 0.0;
            assert_eq!(sink.chunks.len(), 5);
            for a in &sink.chunks {
                let size = if a.chunk == 4 { 70_000.0 } else { 100_000.0 };
                sent += size;
                let at = a.time.as_secs_f64();
                assert!(
                    (at - sent / u).abs() < 1e-6,
                    "chunk {} at {at} s, expected {} s",
                    a.chunk,
                    sent / u
                );
            }
            assert_bytes_conserved(&s, &r);
        }
    }
}

/// A chunk assembled from two uploaders' blocks: peer A (alone at first) gets the
/// one chunk of 10 blocks from the server at u = 163,840 B/s, in 1 s; peer B
/// arrives at 2 s and finds two complete uploaders, the server and A, both at u
/// and both with a free slot. With a queue of one block per connection, each
/// connection serves a block in b / u = 0.1 s and asks for the next free block of
/// the same chunk: 5 blocks come from each, and B holds the chunk at
/// 2 + 5 b / u = 2.5 s, with half of it (81,920 B) from the server. (Whole-chunk
/// requests would split the chunk in halves as well, by another rule.)
#[test]
fn a_chunk_is_assembled_from_two_uploaders_blocks() {
    let (b, u) = (16_384u64, 163_840.0);
    for net in [ModelKind::Fast, ModelKind::MaxMin] {
        let mut a = class(1, u, f64::INFINITY);
        a.name = "a".into();
        let mut later = class(1, u, f64::INFINITY);
        later.name = "b".into();
        later.arrival = Arrival::Times(vec![2.0]);
        let mut s = with_blocks(bt(10 * b, 10 * b, u, vec![a, later]), b, 1, 1);
        s.network = net;
        let r = simulate(&s);
        assert_eq!(r.summary.status, RunStatus::Completed);
        let ta = r.peers[0].completion.unwrap().as_secs_f64();
        let tb = r.peers[1].completion.unwrap().as_secs_f64();
        assert!((ta - 1.0).abs() < 1e-6, "A at {ta} s ({net:?})");
        assert!((tb - 2.5).abs() < 1e-6, "B at {tb} s ({net:?})");
        let from_server = r.peers[1].bytes_from_server;
        assert!(
            (from_server - 5.0 * b as f64).abs() < 1.0,
            "{from_server} B from the server ({net:?})"
        );
        assert_bytes_conserved(&s, &r);
    }
}

/// A choke drops the queue. The server (1 regular slot, round robin, no optimistic
/// unchoke, a rechoke every second) has two free riders. Both ask at 0; the slot
/// goes to node 1, the lower id (events at one instant run in node order), and
/// node 1 queues requests for the whole file at once (a queue of 2,000 blocks) and
/// is served at u. Round robin's first turn, at the rechoke at 1 s, starts from the
/// lowest id, node 1 again; at 2 s the turn passes to node 2 and node 1 is choked.
/// At 2.5 s node 1 has no request left (its queue was rejected) and keeps the
/// 2 s x u bytes it got; node 2 has requests covering every byte it lacks and has
/// received 0.5 s x u.
#[test]
fn a_choke_drops_the_queue() {
    let u = 100_000.0;
    let f = 1_000_000u64;
    let mut s = with_blocks(
        bt(f, 250_000, u, vec![class(2, 0.0, f64::INFINITY)]),
        16_384,
        2000,
        2000,
    );
    let c = &mut s.bittorrent;
    c.unchoke_slots = 1;
    c.seed_choker = SeedChoker::RoundRobin;
    c.rechoke_interval = 1.0;
    c.rate_window = 1.0;
    c.optimistic_interval = 1000.0;
    let mut sim = Sim::new(&s);
    let mut p = BitTorrent::new(&s, &mut sim);
    let got = |p: &BitTorrent, n: NodeId| {
        (0..p.chunks).map(|c| p.received(n, c)).sum::<f64>() + p.held[n as usize] as f64 * 250_000.0
    };
    sim.run(&mut p, Time::from_secs_ceil(2.5).unwrap());
    let (first, second) = (1, 2);
    assert!(p.nodes[first as usize].downloads.is_empty());
    assert!(
        (got(&p, first) - 2.0 * u).abs() < 1e-3,
        "{}",
        got(&p, first)
    );
    // The second: its received bytes (credited when a part ends) plus what its
    // requests still cover is the whole file.
    let node = &p.nodes[second as usize];
    let asked: f64 = node.downloads.iter().map(|q| q.bytes - q.credited).sum();
    assert!((got(&p, second) + asked - f as f64).abs() < 1e-3);
    let served = node.downloads.iter().find(|q| q.flow != NONE).unwrap();
    let total = got(&p, second) + sim.network().delivered(served.flow, sim.now) - served.credited;
    assert!((total - 0.5 * u).abs() < 1e-3, "{total}");
    assert!(p.stats.choke_cancels > 0);
}

/// Allowed-fast sets (BEP 6) covering the whole file: the server (100,000 B/s, one
/// unchoke slot, the next rechoke at 10 s) serves the leecher it chokes as well as
/// the one it unchokes, one flow each, so each gets u / 2 and both have the 470,000-B
/// file at 2 F / u = 9.4 s. The leechers upload nothing (free riders), so the
/// server is their only source. Without the sets the unchoked one is served alone
/// and completes at F / u = 4.7 s (then the other, at 9.4 s).
#[test]
fn allowed_fast_chunks_are_served_while_choked() {
    for net in [ModelKind::Fast, ModelKind::MaxMin] {
        let mut s = with_blocks(
            bt(
                470_000,
                100_000,
                100_000.0,
                vec![class(2, 0.0, f64::INFINITY)],
            ),
            16_384,
            2,
            500,
        );
        s.network = net;
        s.bittorrent.unchoke_slots = 1;
        s.bittorrent.rechoke_interval = 10.0;
        s.bittorrent.rate_window = 10.0;
        s.bittorrent.optimistic_interval = 1000.0;
        // Five chunks (4 of 100,000 B and one of 70,000 B): a set of 5 is all.
        s.bittorrent.allowed_fast = 5;
        let r = simulate(&s);
        assert_eq!(r.summary.status, RunStatus::Completed);
        for p in &r.peers {
            let t = p.completion.unwrap().as_secs_f64();
            assert!((t - 9.4).abs() < 1e-6, "{t} s, {net:?}");
        }
    }
}

/// The limiter's overhead (`rate_limit_overhead`): one uploader of 100,000 B/s and
/// one downloader, 470,000 B in 16 KiB blocks. Per 16,384-B block the limit pays
/// the PIECE message (16,397 B), 40 B of TCP/IP header per 1,460 B of it
/// (16,397 x 1,500 / 1,460 = 16,846.23 B) and 40 B for the ACK of the REQUEST:
/// 16,886.23 B, a payload share of 16,384 / 16,886.23 = 0.970258. The file takes
/// 4.7 s / 0.970258 = 4.84407 s (without the rule 4.7 s).
#[test]
fn rate_limit_overhead_leaves_payload_its_share_of_the_limit() {
    let mut s = with_blocks(
        bt(
            470_000,
            100_000,
            100_000.0,
            vec![class(1, 0.0, f64::INFINITY)],
        ),
        16_384,
        2,
        500,
    );
    s.bittorrent.rate_limit_overhead = true;
    let r = simulate(&s);
    let t = r.peers[0].completion.unwrap().as_secs_f64();
    assert!((t - 4.84407).abs() < 1e-5, "{t} s");
}

/// Whole-piece runs (`whole_pieces_threshold`). One uploader (100,000 B/s), one
/// downloader, 1,000,000 B in ten 100,000-B chunks, 16 KiB blocks, a queue of 3 s
/// (18 blocks at that rate: 3 x 100,000 / 16,384 = 18.3). With a threshold of
/// 20 s the connection brings min(20 x 100,000, 8 MiB) / 100,000 = 20 chunks'
/// worth in that time, so it keeps 20 whole chunks (140 blocks) requested: once
/// its first part (2 blocks, the minimum before a rate is known) is served, it
/// asks for the whole rest of the file. At 2.5 s it has 2.5 x 100,000 = 250,000 B
/// and its requests cover the other 750,000 B. Without the rule they cover at
/// most 18 blocks (294,912 B).
#[test]
fn whole_piece_runs_ask_for_whole_chunks_beyond_the_depth() {
    let u = 100_000.0;
    let f = 1_000_000u64;
    for (threshold, all_asked) in [(20.0, true), (0.0, false)] {
        let mut s = with_blocks(
            bt(f, 100_000, u, vec![class(1, 0.0, f64::INFINITY)]),
            16_384,
            2,
            500,
        );
        s.bittorrent.request_queue_time = 3.0;
        s.bittorrent.whole_pieces_threshold = threshold;
        s.bittorrent.whole_pieces_rule = WholePiecesRule::Kept;
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(2.5).unwrap());
        let node = &p.nodes[1];
        let got =
            (0..p.chunks).map(|c| p.received(1, c)).sum::<f64>() + p.held[1] as f64 * 100_000.0;
        let served = node.downloads.iter().find(|q| q.flow != NONE).unwrap();
        let got = got + sim.network().delivered(served.flow, sim.now) - served.credited;
        assert!((got - 2.5 * u).abs() < 1e-3, "{got}");
        let asked: f64 = node
            .downloads
            .iter()
            .map(|q| q.bytes - q.credited)
            .sum::<f64>()
            - (sim.network().delivered(served.flow, sim.now) - served.credited);
        if all_asked {
            assert!((got + asked - f as f64).abs() < 1e-3, "{got} + {asked}");
        } else {
            assert!(asked <= 18.0 * 16_384.0 + 1e-3, "{asked}");
        }
    }
}

/// The swarm of the two whole-piece rule tests below: one uploader (100,000 B/s),
/// one downloader, forty 100,000-B chunks, a 3-s queue of 16 KiB blocks (2 to 500),
/// a 20.5-s threshold, with `rule`, `picker` and `seed`.
fn runs_case(rule: WholePiecesRule, picker: PickerKind, seed: u64) -> Scenario {
    let mut s = with_blocks(
        bt(
            4_000_000,
            100_000,
            100_000.0,
            vec![class(1, 0.0, f64::INFINITY)],
        ),
        16_384,
        2,
        500,
    );
    s.seed = seed;
    let c = &mut s.bittorrent;
    c.request_queue_time = 3.0;
    c.whole_pieces_threshold = 20.5;
    c.whole_pieces_rule = rule;
    c.picker = picker;
    s
}

/// libtorrent's whole-piece picks (`whole_pieces_rule = "adjacent-runs"`) against
/// the kept queue. One uploader (100,000 B/s), one downloader, 4,000,000 B in forty
/// 100,000-B chunks (7 blocks each: 100,000 / 16,384 = 6.1), a 3-s queue (18 blocks
/// at that rate), a 20.5-s threshold (20 whole chunks, clear of the rounding of the
/// measured rate), the sequential picker. The
/// first part is 2 blocks of chunk 0 (no rate yet); at its end (0.33 s) both rules
/// ask for the rest of chunk 0 and chunks 1 to 20: the kept rule because 5 + 20 x 7
/// blocks first reach its depth of 140, the runs because chunk 1's run goes forward
/// 20 chunks (back, chunk 0 is taken). From then on one chunk is served a second,
/// chunk k ending at 1 + k s. The kept rule asks for one more chunk at each end
/// from chunk 1's (2 s) on, so by 18.5 s up to chunk 20 + 17 = 37. The runs ask
/// only when fewer than 18 blocks are outstanding: at chunk 18's end (19 s; 2 x 7
/// = 14 blocks left, at 18 s 21), then the run of chunks 21 to 39.
#[test]
fn adjacent_runs_pick_only_below_the_depth() {
    let last_asked = |rule: WholePiecesRule, at: f64| {
        let s = runs_case(rule, PickerKind::Sequential, 5);
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(at).unwrap());
        let asked: Vec<u32> = (0..p.chunks)
            .filter(|&c| p.has(1, c) || p.is_pending(1, c))
            .collect();
        // (Sequential: what was asked is a prefix.)
        assert_eq!(asked, (0..asked.len() as u32).collect::<Vec<_>>());
        asked.len() as u32 - 1
    };
    assert_eq!(last_asked(WholePiecesRule::Kept, 18.5), 37);
    assert_eq!(last_asked(WholePiecesRule::AdjacentRuns, 18.5), 20);
    assert_eq!(last_asked(WholePiecesRule::AdjacentRuns, 19.5), 39);
}

/// The runs are of adjacent chunks (`piece_picker::expand_piece`). As above with
/// the random picker, for several seeds: at 1.5 s the downloader has asked for its
/// first random chunk c0 and one run, picked at 0.33 s around a random free chunk:
/// a range of adjacent chunks without c0, asked in order, of 20 chunks unless c0
/// or the file's end stops it going forward. The range was asked whole at once
/// (at least 21 blocks outstanding until 1.5 s, so no second pick) unless it is
/// shorter than 3 chunks.
#[test]
fn adjacent_runs_ask_for_a_range_of_adjacent_chunks() {
    let mut checked = 0;
    for seed in 1..=12 {
        let s = runs_case(WholePiecesRule::AdjacentRuns, PickerKind::Random, seed);
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(1.5).unwrap());
        // The parts in request order (part ids grow): the run (c0 is held).
        let mut parts: Vec<(u32, u32)> = p.nodes[1]
            .downloads
            .iter()
            .map(|q| (q.part, q.chunk))
            .collect();
        parts.sort_unstable();
        // (c0 arrived whole at 1 s; the run's first chunk arrives at 2 s.)
        let held: Vec<u32> = (0..p.chunks).filter(|&c| p.has(1, c)).collect();
        assert_eq!(held.len(), 1, "seed {seed}");
        let c0 = held[0];
        let run: Vec<u32> = parts.iter().map(|x| x.1).filter(|&c| c != c0).collect();
        if run.len() < 3 {
            continue;
        }
        let (start, end) = (run[0], run[run.len() - 1] + 1);
        assert_eq!(
            run,
            (start..end).collect::<Vec<_>>(),
            "seed {seed}: in order, adjacent"
        );
        assert!(!(start..end).contains(&c0), "seed {seed}");
        assert!(
            run.len() == 20 || end == c0 || end == p.chunks,
            "seed {seed}: {start}..{end}, c0 {c0}"
        );
        let pending = (0..p.chunks).filter(|&c| p.is_pending(1, c)).count();
        assert_eq!(pending, run.len(), "seed {seed}: nothing else asked");
        checked += 1;
    }
    assert!(
        checked >= 8,
        "{checked} of 12 seeds gave a run of 3 chunks or more"
    );
}

/// The averaged rate behind the queue (`request_rate = "ewma-5s"`). One uploader
/// (100,000 B/s), one downloader, a 3-s queue of 16 KiB blocks (at least 2), no
/// whole-piece runs. The link is never idle (no latency), so the downloader gets
/// 100,000 B in every second and its rate after the k-th 1-s update is
/// r_k = 4/5 r_(k-1) + 1/5 x 100,000 from r_0 = 0: 20,000, 36,000, 48,800 B/s
/// after 1, 2 and 3 s. From 3 s to 4 s the queue is then at most
/// floor(3 x 48,800 / 16,384) = 8 blocks; following the current rate it is
/// floor(3 x 100,000 / 16,384) = 18 (tops up when a part ends: more than 8
/// asked at 3.5 s). Neither changes the time the file takes, F / u = 4.7 s.
#[test]
fn averaged_rate_sizes_the_queue_from_libtorrents_five_second_average() {
    let u = 100_000.0;
    for rule in [RequestRate::Ewma5s, RequestRate::Current] {
        let mut s = with_blocks(
            bt(470_000, 100_000, u, vec![class(1, 0.0, f64::INFINITY)]),
            16_384,
            2,
            500,
        );
        s.bittorrent.request_queue_time = 3.0;
        s.bittorrent.request_rate = rule;
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(3.5).unwrap());
        let i = (0..p.deg[1]).find(|&i| p.lk(1, i).other == SERVER).unwrap();
        let (out, _) = p.queue_state(&sim, 1, i);
        if rule == RequestRate::Ewma5s {
            let avg = p.ticks[p.lbase(1) + i as usize].avg;
            assert!((avg - 48_800.0).abs() < 1e-6, "rate {avg}");
            assert!(out <= 8, "{out} blocks asked");
        } else {
            assert!(out > 8, "{out} blocks asked");
        }
        let r = simulate(&s);
        let t = r.peers[0].completion.unwrap().as_secs_f64();
        assert!((t - 4.7).abs() < 1e-6, "{t} s, {rule:?}");
    }
}

/// When an idle connection asks again (`idle_retry`). The server (100,000 B/s)
/// and two peers uploading 100,000 B/s: D (node 1, download capped at
/// 20,000 B/s) and U (node 2, unlimited); three 100,000-B chunks asked in order
/// (sequential picker), a queue deep enough for the whole file, no end game. At
/// 0 s both ask the server for the whole file; it sends D 20,000 B/s and U the
/// other 80,000, so U has chunk 0 at 100,000 / 80,000 = 1.25 s: D becomes
/// interested in U, U unchokes it, and D has nothing free to ask (all is asked of
/// the server), so the connection is idle. At 1.5 s the server chokes D (D holds
/// 30,000 B of chunk 0) and D's requests there are dropped; the server
/// unchokes it again only at its rechoke at 10 s (`lost_interest =
/// "next-rechoke"`: U, complete at 3.3 s, leaves its slot idle), when D has
/// asked U for everything. `"at-once"`: D asks U at once for the rest of chunk 0
/// (70,000 B), then for chunks 1 and 2 at U's HAVEs while that is served, and
/// gets 270,000 B at its 20,000 B/s: complete at 1.5 + 13.5 = 15 s.
/// `"every-5s"` (libtorrent): the choke elsewhere and U's HAVEs (D is already
/// interested) do not make it ask; its 1-s tick does once 5 s have passed since
/// the connection opened (0 s), at 5 s: complete at 5 + 13.5 = 18.5 s.
#[test]
fn idle_connections_ask_again_only_at_libtorrents_triggers() {
    for (rule, done) in [(IdleRetry::AtOnce, 15.0), (IdleRetry::Every5s, 18.5)] {
        let mut s = with_blocks(
            bt(
                300_000,
                100_000,
                100_000.0,
                vec![
                    class(1, 100_000.0, 20_000.0),
                    class(1, 100_000.0, f64::INFINITY),
                ],
            ),
            16_384,
            500,
            500,
        );
        let c = &mut s.bittorrent;
        c.picker = PickerKind::Sequential;
        c.random_first = 0;
        c.endgame = false;
        c.lost_interest = LostInterest::NextRechoke;
        c.idle_retry = rule;
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(1.5).unwrap());
        assert_eq!(p.held[2], 1, "U has chunk 0 at 1.25 s");
        let to_u = (0..p.deg[1]).find(|&i| p.lk(1, i).other == 2).unwrap();
        assert!(p.lk(1, to_u).unchoked && p.lk(1, to_u).in_flight == 0);
        let at_server = (0..p.deg[SERVER as usize])
            .find(|&i| p.lk(SERVER, i).other == 1)
            .unwrap();
        p.choke(&mut sim, SERVER, at_server);
        // (A no-op event now, after which the event loop gives the changed flows
        // their rates, as after any event.)
        sim.set_timer(sim.now, BtTimer::Trigger { node: SERVER });
        let asked = p.lk(1, to_u).in_flight > 0;
        assert_eq!(asked, rule == IdleRetry::AtOnce, "{rule:?}");
        sim.run(&mut p, Time::from_secs_ceil(done - 0.01).unwrap());
        assert!(!p.nodes[1].complete, "{rule:?} complete before {done} s");
        sim.run(&mut p, Time::from_secs_ceil(done + 0.01).unwrap());
        assert!(p.nodes[1].complete, "{rule:?} not complete at {done} s");
    }
}

/// Random heterogeneous swarms under the block pipeline: random block sizes (chunk
/// sizes are rarely a whole number of blocks), queue rules, pickers, chokers,
/// allowed-fast sets, the limiter's overhead, latency and churn, under both
/// bandwidth models.
fn case() -> impl Strategy<Value = Scenario> {
    (
        (2u64..30, 4_000u64..64_000, 1e3f64..2e4),
        prop::collection::vec((1u64..10, 0.0f64..2.0, prop::option::of(0.2f64..5.0)), 1..4),
        (
            0usize..4,
            0usize..3,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (500u64..40_000, 0.0f64..6.0, 1u32..40, 0u32..60),
        any::<u64>(),
        (0u32..8, any::<bool>(), 1u32..4),
    )
        .prop_map(
            |(
                (chunks, chunk, u),
                cls,
                (picker, choker, fast, lat, churn),
                queue,
                seed,
                (allowed, overhead, slots),
            )| {
                let (block, time, min, extra) = queue;
                let classes = cls
                    .into_iter()
                    .map(|(count, up, down)| {
                        let up = if up < 0.3 { 0.0 } else { up * u };
                        let mut c = class(count, up, down.map_or(f64::INFINITY, |d| d * u));
                        if lat {
                            c.latency = 0.01;
                        }
                        if churn {
                            c.arrival = Arrival::Poisson {
                                rate: 0.5,
                                start: 0.0,
                            };
                            c.seeding = Seeding::Exponential(20.0);
                        }
                        c
                    })
                    .collect();
                let mut s = with_blocks(
                    bt(chunks * chunk - chunk / 3, chunk, u * 3.0, classes),
                    block,
                    min,
                    min + extra,
                );
                s.seed = seed;
                s.bittorrent.request_queue_time = time;
                s.network = if fast {
                    ModelKind::Fast
                } else {
                    ModelKind::MaxMin
                };
                s.bittorrent.picker = [
                    PickerKind::RarestFirst,
                    PickerKind::Random,
                    PickerKind::Sequential,
                    PickerKind::GlobalRarest,
                ][picker];
                s.bittorrent.choker = [
                    ChokerKind::TitForTat,
                    ChokerKind::UnchokeAll,
                    ChokerKind::RoundRobin,
                ][choker];
                // Allowed-fast sets and the limiter's overhead, with few slots so
                // that many neighbours choke (and serve the sets).
                s.bittorrent.allowed_fast = allowed;
                s.bittorrent.rate_limit_overhead = overhead;
                s.bittorrent.whole_pieces_threshold = if overhead { 20.0 } else { 0.0 };
                s.bittorrent.unchoke_slots = slots;
                // The averaged rate behind the queue in half the cases, libtorrent's
                // idle retries in a third, its whole-piece picks (the default) in
                // three fifths and the kept queue in the rest (from the seed: no new
                // draw, so the other draws stay as they were).
                if seed % 2 == 0 {
                    s.bittorrent.request_rate = RequestRate::Ewma5s;
                }
                if seed % 3 == 0 {
                    s.bittorrent.idle_retry = IdleRetry::Every5s;
                }
                s.bittorrent.whole_pieces_rule = if seed % 5 < 3 {
                    WholePiecesRule::AdjacentRuns
                } else {
                    WholePiecesRule::Kept
                };
                s
            },
        )
}

proptest! {
    #![proptest_config(crate::test_util::cases(120))]

    /// Never faster than D_p2p, every byte accounted for, and the same run twice
    /// gives the same result.
    #[test]
    fn blocks_never_beat_the_bound_conserve_bytes_and_repeat(s in case()) {
        let r = simulate(&s);
        prop_assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
        let b = s.bounds();
        prop_assert!(r.summary.distribution_time_s >= b.d_p2p * (1.0 - 1e-9),
            "{} < bound {}", r.summary.distribution_time_s, b.d_p2p);
        assert_bytes_conserved(&s, &r);
        let again = simulate(&s);
        prop_assert_eq!(format!("{:?}", again.peers), format!("{:?}", r.peers));
    }
}
