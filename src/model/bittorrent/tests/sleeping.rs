//! BitTorrent tests of idle timers: a swarm with nothing to do sleeps until the next
//! arrival, with the same results as timers that tick through every gap.

use super::*;

/// Two peers, the second arriving 10^7 s (116 days) after the first. Once the first
/// has the file, the server and it are seeds with nothing to do until the second
/// arrives; their rechokes (every 10 s) and the watchdog (every 600 s) used to tick
/// through the whole gap: 2 x 10^6 rechokes. They now sleep until the last tick
/// before the arrival. Expected count: the first peer's run (10 chunks, tens of
/// events), a few rechokes around it, the same for the second peer: well under 1000.
#[test]
fn an_idle_swarm_sleeps_until_the_next_arrival() {
    let mut late = class(1, 100_000.0, f64::INFINITY);
    late.name = "late".into();
    late.arrival = Arrival::Times(vec![1e7]);
    let mut s = bt(
        1_000_000,
        100_000,
        1_000_000.0,
        vec![class(1, 100_000.0, f64::INFINITY), late],
    );
    s.max_time = 2e7;
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
    assert!(r.summary.events < 1000, "{} events", r.summary.events);
    // The second peer gets the file from two seeds: F / (u_s + u_1) = 1 MB / 1.1 MB/s
    // at best, after its arrival at 10^7 s.
    assert!(r.summary.end_time_s >= 1e7 + 1e6 / 1.1e6);
}
/// Random swarms whose peers arrive with gaps (so that all present peers are seeds
/// for a while), with seeds that stay or leave, latency, an inactivity timeout and
/// each choker: with idle timers sleeping (the default) the results are exactly
/// those of timers that tick through every gap, in fewer events.
fn gappy() -> impl Strategy<Value = Scenario> {
    (
        (2u64..20, 4_000u64..40_000),
        prop::collection::vec((0u32..3, 1u32..2000), 2..8),
        (0usize..4, 0usize..3, any::<bool>(), 0usize..3, any::<u64>()),
    )
        .prop_map(
            |((chunks, chunk), arrivals, (choker, idle, fast, seeding, seed))| {
                // Peers arrive in groups of 0 to 2 (a group of 0 only moves the clock),
                // 1 to 2000 s after the group before.
                let mut t = 0.0;
                let mut times = Vec::new();
                for (k, gap) in arrivals {
                    t += f64::from(gap);
                    times.extend(std::iter::repeat_n(t, k as usize));
                }
                if times.is_empty() {
                    times.push(t);
                }
                let mut c = class(times.len() as u64, 20_000.0, f64::INFINITY);
                c.arrival = Arrival::Times(times);
                c.seeding = [
                    Seeding::Never,
                    Seeding::Fixed(5.0),
                    Seeding::Exponential(50.0),
                ][seeding];
                c.latency = if fast { 0.0 } else { 0.05 };
                let mut s = bt(chunks * chunk, chunk, 50_000.0, vec![c]);
                s.seed = seed;
                s.max_time = 1e5;
                s.bittorrent.choker = ChokerKind::ALL[choker].1;
                s.bittorrent.inactivity_timeout = [0.0, 10.0, 60.0][idle];
                s
            },
        )
}
proptest! {
    #![proptest_config(crate::test_util::cases(64))]

    #[test]
    fn sleeping_through_idle_stretches_changes_no_result(s in gappy()) {
        let run = |skip: bool| {
            let mut sim = Sim::new(&s);
            let p = BitTorrent::new(&s, &mut sim);
            let mut p = if skip { p } else { p.without_skipping() };
            let horizon = Time::from_secs_ceil(s.max_time).unwrap();
            let status = sim.run(&mut p, horizon);
            let samples = format!("{:?}", sim.samples);
            let halt = sim.halt_reason().map(String::from);
            ((status, sim.peers.clone(), sim.now, samples, halt), sim.events, p.stats.rechokes)
        };
        let (with, without) = (run(true), run(false));
        prop_assert_eq!(&with.0, &without.0);
        // Fewer events; at least as many rechokes counted (skipped ones are counted
        // when the stretch starts, also those of a seed that leaves during it).
        prop_assert!(with.1 <= without.1, "{} > {}", with.1, without.1);
        prop_assert!(with.2 >= without.2, "{} < {}", with.2, without.2);
    }
}
