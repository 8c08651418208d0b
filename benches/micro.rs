//! Criterion micro-benchmarks of the hot parts of a BitTorrent run: the
//! event queue, each bandwidth model's reallocation, the rarest-first piece picker and
//! the tit-for-tat choker. Run with `cargo bench --bench micro`; see docs/PERFORMANCE.md.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::Rng;
use std::hint::black_box;
use swarmsim::engine::{EventQueue, Time, rng_from_seed};
use swarmsim::model::bittorrent::policy::{
    AvailRow, Candidate, ChokeContext, Choker, PickContext, PiecePicker, RarestFirst, TitForTat,
};
use swarmsim::network::{ModelKind, Network};

/// Schedule, reschedule and pop with 10,000 pending events (a 10,000-peer swarm
/// keeps about one completion event per transfer plus one timer per peer pending).
fn event_queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_queue");
    let n = 10_000u64;
    let mut rng = rng_from_seed(1);
    let times: Vec<u64> = (0..4 * n)
        .map(|_| rng.random_range(0..1_000_000_000))
        .collect();
    g.bench_function("schedule_pop_10k", |b| {
        b.iter(|| {
            let mut q = EventQueue::new();
            for (i, &t) in times[..n as usize].iter().enumerate() {
                q.schedule(Time(t), i);
            }
            while let Some(e) = q.pop() {
                black_box(e);
            }
        })
    });
    g.bench_function("reschedule_in_10k", |b| {
        let mut q = EventQueue::new();
        let ids: Vec<_> = (0..n as usize)
            .map(|i| q.schedule(Time(times[i]), i))
            .collect();
        let mut k = 0usize;
        b.iter(|| {
            k = (k + 1) % ids.len();
            black_box(q.reschedule(ids[k], Time(times[n as usize + k])));
        })
    });
    g.finish();
}

/// One flow added and one removed, then the model's reallocation, in a network of
/// 1,000 peers each uploading to 5 others (5,000 flows), as in a BitTorrent swarm.
fn reallocate(c: &mut Criterion) {
    let mut g = c.benchmark_group("reallocate");
    let peers = 1000u32;
    for kind in [ModelKind::MaxMin, ModelKind::Fast] {
        let nodes = peers as usize + 1;
        let up = vec![125_000.0; nodes];
        let down = vec![f64::INFINITY; nodes];
        let mut net: Network = Network::new(up, down, kind.build(nodes));
        for p in 1..=peers {
            for k in 1..=5 {
                let dst = (p + 37 * k - 1) % peers + 1;
                net.add_flow(Time::ZERO, p, dst, 262_144.0);
            }
        }
        net.rebalance(Time::ZERO);
        let mut p = 1u32;
        g.bench_function(BenchmarkId::from_parameter(kind.name()), |b| {
            b.iter(|| {
                p = p % peers + 1;
                let f = net.add_flow(Time::ZERO, p, (p + 500) % peers + 1, 262_144.0);
                black_box(net.rebalance(Time::ZERO).len());
                net.remove_flow(Time::ZERO, f);
                black_box(net.rebalance(Time::ZERO).len());
            })
        });
    }
    g.finish();
}

/// Rarest-first over 400 chunks with half of them candidates and availability counts
/// from 0 to 79 (a peer with 80 neighbours).
fn piece_picker(c: &mut Criterion) {
    let chunks = 400usize;
    let mut rng = rng_from_seed(2);
    let mut cand = vec![0u64; chunks.div_ceil(64)];
    for i in 0..chunks {
        if rng.random_bool(0.5) {
            cand[i / 64] |= 1 << (i % 64);
        }
    }
    let avail: Vec<u8> = (0..chunks).map(|_| rng.random_range(0..80)).collect();
    let copies = vec![0u32; chunks];
    let cx = PickContext {
        candidates: &cand,
        local_avail: AvailRow::U8(&avail),
        global_copies: &copies,
        have_count: 200,
    };
    let mut picker = RarestFirst { random_first: 4 };
    c.bench_function("piece_picker/rarest_first_400", |b| {
        b.iter(|| black_box(picker.pick(&cx, &mut rng)))
    });
}

/// Tit-for-tat's choice of 4 unchokes among 80 interested neighbours.
fn choker(c: &mut Criterion) {
    let mut rng = rng_from_seed(3);
    let cands: Vec<Candidate> = (0..80)
        .map(|i| Candidate {
            neighbour: i,
            recv_rate: rng.random_range(0.0..125_000.0),
            sent_rate: rng.random_range(0.0..125_000.0),
            unchoked: i % 10 == 0,
            ..Candidate::default()
        })
        .collect();
    let mut out = Vec::with_capacity(80);
    c.bench_function("choker/tit_for_tat_80", |b| {
        b.iter(|| {
            out.clear();
            let mut cx = ChokeContext {
                node: 1,
                now: Time::ZERO,
                round: 0,
                rng: &mut rng,
                state: &mut 0,
            };
            TitForTat.choose(&mut cx, &cands, 4, &mut out);
            black_box(out.len())
        })
    });
}

/// Criterion without its HTML plots: they need system fonts, which a bare machine may
/// lack (the plotting backend then panics); the timings are printed either way.
fn config() -> Criterion {
    Criterion::default().without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = event_queue, reallocate, piece_picker, choker
}
criterion_main!(benches);
