//! Chokers that follow a real client's rule and need more than a ranking:
//! libtorrent's `rate_based_choker` (a slot count that follows the upload rates)
//! and mainline 4.0.1's seed rule (a few new unchokes per 30 s, in list order).
//! The rules, with the source of each, are in docs/CLIENT-RULES.md.

use super::policy::{Candidate, ChokeContext, Choker, top_by};

/// libtorrent's `rate_based_choker` (`choking_algorithm` = 1; `unchoke_sort`,
/// src/choker.cpp, and `session_impl::recalculate_unchoke_slots`,
/// src/session_impl.cpp, libtorrent 2.0.8), for leechers.
///
/// The slot count: the interested neighbours sorted by the bytes we sent them in
/// the last round, as a rate (whole bytes per second over the rechoke interval);
/// walking down that list, a neighbour counts while its rate is at least a
/// threshold that starts at `rate_choker_initial_threshold` (1024 B/s) and grows
/// by 2048 B/s per neighbour counted; the first one below ends the walk. libtorrent
/// allows that count plus one unchokes, of which one is the optimistic unchoke
/// (`allowed - num_opt_unchoke`), so the regular unchokes are the count itself:
/// none until some neighbour has been sent at least 1 KiB/s over a round.
///
/// Who gets them: tit-for-tat, the neighbours that uploaded to us fastest over the
/// rate window (libtorrent: bytes received in the last round, `compare_peers`, so
/// the preset's window is one rechoke interval).
///
/// Between rechokes nobody is unchoked into a free slot: libtorrent's preemptive
/// unchoke (`session_impl::preemptive_unchoke`) is off under this choker.
pub struct RateBased {
    /// The rechoke interval, seconds (libtorrent divides by the time since the
    /// last rechoke, which is this interval).
    pub interval: f64,
}

/// `rate_choker_initial_threshold`'s default, bytes/s (settings_pack.cpp, 2.0.8).
pub const RATE_CHOKER_INITIAL_THRESHOLD: i64 = 1024;

/// What the rate threshold grows by per neighbour counted, bytes/s (hard-coded in
/// `unchoke_sort`).
pub const RATE_CHOKER_STEP: i64 = 2048;

impl RateBased {
    /// The regular unchoke slots the rule gives for these candidates (the count of
    /// the walk above; libtorrent's `allowed_upload_slots` is this plus one).
    pub fn slots(&self, cands: &[Candidate]) -> usize {
        // libtorrent: int(uploaded_in_last_round * 1000 / milliseconds).
        let ms = (self.interval * 1000.0).round().max(1.0);
        let mut rates: Vec<i64> = cands
            .iter()
            .map(|c| (c.sent_round * 1000.0 / ms).floor() as i64)
            .collect();
        rates.sort_unstable_by(|a, b| b.cmp(a));
        let mut threshold = RATE_CHOKER_INITIAL_THRESHOLD;
        let mut count = 0;
        for r in rates {
            if r < threshold {
                break;
            }
            count += 1;
            threshold += RATE_CHOKER_STEP;
        }
        count
    }
}

impl Choker for RateBased {
    fn choose(
        &mut self,
        _cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        _slots: usize,
        out: &mut Vec<usize>,
    ) {
        let n = self.slots(cands);
        top_by(cands, n, out, |c| c.recv_rate);
    }

    fn slots_between_rechokes(&self, _slots: u32) -> Option<u32> {
        Some(0)
    }

    fn reads_unchoke_history(&self) -> bool {
        true
    }
}

/// Mainline 4.0.1's seed rule (`Choker._rechoke_seed` with `force_new_unchokes`,
/// called from `Choker._round_robin` every 10 s, BitTorrent/Choker.py).
///
/// The slots are mainline's `max_uploads`: the scenario's regular slots plus the
/// one a leecher keeps for its optimistic unchoke (a seed has none). At the k-th
/// rechoke (k from 1; mainline's `count`), `f` = (s + k mod 3) / 3 new unchokes
/// are made, with s = (max_uploads + 2) / 3 (integer division): s per three
/// rechokes. The unchoked interested neighbours are ranked: those unchoked within
/// the last two rechoke intervals (mainline: `unchoke_time > count - 3`) first,
/// the most recently unchoked first, then the others; ties by our upload rate to
/// them (the rate window) down, then list order. The first max_uploads - f keep
/// their slot. The rest of the slots go, walking the connection list from where
/// the last walk stopped, to choked interested neighbours, an unchoked one not
/// kept keeping its slot only while free slots remain in the walk; the list then
/// starts after the last one unchoked. The list is the neighbours in node-id
/// order, rotated (mainline inserts a new connection at a random place).
///
/// Not modelled: mainline keeps a peer whose upload buffer is still draining
/// (`u.buffer and c.connection.is_flushed()`), and rechokes between ticks when an
/// unchoked peer changes interest or leaves (swarmsim refills the slot at once);
/// so the count of unchokes made by those, `unchokes_since_last`, is 0 here.
pub struct MainlineSeed {
    /// The rechoke interval, seconds (mainline: 10 s).
    pub interval: f64,
}

impl MainlineSeed {
    /// Rechoke intervals since `c`'s last unchoke, as mainline counts them (its
    /// `count` at the unchoke; an unchoke between two rechokes carries the count of
    /// the earlier one, so this is the ceiling).
    fn ticks_since_unchoke(&self, c: &Candidate) -> f64 {
        (c.since_unchoke / self.interval - 1e-9).ceil()
    }
}

impl Choker for MainlineSeed {
    fn choose(
        &mut self,
        cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        slots: usize,
        out: &mut Vec<usize>,
    ) {
        let max_uploads = slots + 1;
        let count = cx.round + 1;
        // Mainline: (max_uploads + 2) // 3.
        let per_30s = max_uploads.div_ceil(3);
        let force = (per_30s + (count % 3) as usize) / 3;
        // The list: candidates in node-id order, starting after the cursor.
        let cursor = *cx.state;
        let mut list: Vec<usize> = (0..cands.len()).collect();
        list.sort_by_key(|&i| cands[i].neighbour);
        let start = list
            .iter()
            .position(|&i| cands[i].neighbour > cursor)
            .unwrap_or(0);
        list.rotate_left(start);
        let pos = |i: usize| list.iter().position(|&j| j == i).unwrap_or(usize::MAX);
        // Ranked unchoked interested neighbours: (recent?, ticks since unchoke if
        // recent, rate down, list position).
        let mut pref: Vec<usize> = (0..cands.len()).filter(|&i| cands[i].unchoked).collect();
        let key = |i: usize| {
            let c = &cands[i];
            let t = self.ticks_since_unchoke(c);
            let recent = t <= 2.0;
            (!recent, if recent { t } else { 0.0 }, -c.sent_rate, pos(i))
        };
        pref.sort_by(|&a, &b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0)
                .then(ka.1.total_cmp(&kb.1))
                .then(ka.2.total_cmp(&kb.2))
                .then(ka.3.cmp(&kb.3))
        });
        pref.truncate(max_uploads.saturating_sub(force));
        let mut kept = vec![false; cands.len()];
        for &i in &pref {
            kept[i] = true;
        }
        let mut free = max_uploads - pref.len();
        out.extend_from_slice(&pref);
        let mut last = None;
        for &i in &list {
            if kept[i] || free == 0 {
                continue;
            }
            // A choked one is unchoked, an unchoked one not kept keeps its slot:
            // either way it takes one of the free slots.
            out.push(i);
            free -= 1;
            if free == 0 {
                last = Some(i);
            }
        }
        if let Some(i) = last {
            *cx.state = cands[i].neighbour;
        }
    }

    fn uses_optimistic(&self) -> bool {
        false
    }

    fn slots_between_rechokes(&self, slots: u32) -> Option<u32> {
        Some(slots + 1)
    }

    fn reads_unchoke_history(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Time;
    use crate::engine::rng_from_seed;

    /// A candidate with the history these chokers read.
    fn cand(n: u32, unchoked: bool, sent_round: f64, sent_rate: f64, since: f64) -> Candidate {
        Candidate {
            neighbour: n,
            unchoked,
            sent_round,
            sent_rate,
            since_unchoke: since,
            recv_rate: f64::from(n),
            ..Candidate::default()
        }
    }

    /// libtorrent's rate-based slot count by hand from `unchoke_sort` (src/choker.cpp,
    /// 2.0.8), over a 15 s round: bytes sent 60,000, 45,000, 100,000, 15,000 and 0
    /// give the rates 4000, 3000, 6666, 1000 and 0 B/s; sorted 6666, 4000, 3000,
    /// 1000, 0 against thresholds 1024, 3072, 5120, 7168: 6666 >= 1024, 4000 >=
    /// 3072, 3000 < 5120 stops the walk, so 2 regular slots (libtorrent's 3
    /// allowed, one of them optimistic). They go by tit-for-tat: the test's
    /// received rate is the neighbour id, so neighbours 5 and 4.
    #[test]
    fn rate_based_slots_by_hand() {
        let cands = [
            cand(1, true, 60_000.0, 0.0, 0.0),
            cand(2, true, 45_000.0, 0.0, 0.0),
            cand(3, true, 100_000.0, 0.0, 0.0),
            cand(4, false, 15_000.0, 0.0, 0.0),
            cand(5, false, 0.0, 0.0, 0.0),
        ];
        let mut rb = RateBased { interval: 15.0 };
        assert_eq!(rb.slots(&cands), 2);
        let (mut rng, mut st) = (rng_from_seed(1), 0);
        let mut cx = ChokeContext {
            node: 9,
            now: Time::ZERO,
            round: 0,
            rng: &mut rng,
            state: &mut st,
        };
        let mut out = Vec::new();
        rb.choose(&mut cx, &cands, 7, &mut out);
        assert_eq!(out, vec![4, 3]);
        // Nobody sent 1 KiB/s (15,359 B in 15 s is 1023 B/s): no regular slot.
        let slow = [cand(1, true, 15_359.0, 0.0, 0.0)];
        assert_eq!(rb.slots(&slow), 0);
        // A rate equal to its threshold counts: three at 5120 B/s over 1 s pass
        // 1024, 3072 and 5120; with the third at 5119 B/s it does not.
        let rb1 = RateBased { interval: 1.0 };
        let at = |third: f64| {
            [
                cand(1, true, 5120.0, 0.0, 0.0),
                cand(2, true, 5120.0, 0.0, 0.0),
                cand(3, true, third, 0.0, 0.0),
            ]
        };
        assert_eq!(rb1.slots(&at(5120.0)), 3);
        assert_eq!(rb1.slots(&at(5119.0)), 2);
    }

    /// Mainline 4.0.1's seed rule by hand from `Choker._rechoke_seed`
    /// (BitTorrent/Choker.py): 3 regular slots, so max_uploads = 4 and
    /// (4 + 2) // 3 = 2 new unchokes per three rechokes: (2 + count % 3) // 3 =
    /// 0, 1, 1 at counts 3, 4, 5 (rounds 2, 3, 4). Interval 10 s.
    ///
    /// Candidates (id: unchoked, our rate to it, seconds since its unchoke):
    /// 1: unchoked 50 s ago (5 ticks, not recent), rate 300; 2: unchoked 10 s ago
    /// (recent, 1 tick), rate 100; 3: unchoked 20 s ago (recent, 2 ticks), rate 500;
    /// 4: unchoked 40 s ago (not recent), rate 400; 5, 6, 7: choked.
    ///
    /// Round 3 (count 4, one new unchoke): ranked 2 (1 tick), 3 (2 ticks), then the
    /// old ones by rate, 4 (400), 1 (300); the first 4 - 1 = 3 are kept: 2, 3, 4.
    /// One free slot; the walk from the start of the list (cursor 0) meets 1
    /// (unchoked, not kept: keeps the free slot, ending the walk). So 2, 3, 4, 1
    /// and the cursor moves past 1.
    /// Round 2 (count 3, no new unchoke): all 4 kept, nobody new.
    /// Round 4 (count 5) with the cursor at 1: kept 2, 3, 4; the walk from 2 skips
    /// the kept 2, 3, 4, takes 5 (choked): 2, 3, 4, 5; cursor 5.
    #[test]
    fn mainline_seed_by_hand() {
        let cands = [
            cand(1, true, 0.0, 300.0, 50.0),
            cand(2, true, 0.0, 100.0, 10.0),
            cand(3, true, 0.0, 500.0, 20.0),
            cand(4, true, 0.0, 400.0, 40.0),
            cand(5, false, 0.0, 0.0, 100.0),
            cand(6, false, 0.0, 0.0, 100.0),
            cand(7, false, 0.0, 0.0, 100.0),
        ];
        let mut ms = MainlineSeed { interval: 10.0 };
        let mut rng = rng_from_seed(1);
        let mut run = |round: u64, state: &mut u32| {
            let mut cx = ChokeContext {
                node: 0,
                now: Time::ZERO,
                round,
                rng: &mut rng,
                state,
            };
            let mut out = Vec::new();
            ms.choose(&mut cx, &cands, 3, &mut out);
            out
        };
        let mut st = 0;
        assert_eq!(run(3, &mut st), vec![1, 2, 3, 0]);
        assert_eq!(st, 1);
        let mut st2 = 0;
        assert_eq!(run(2, &mut st2), vec![1, 2, 3, 0]);
        assert_eq!(st2, 0, "no walk ended, the list stays");
        let mut st3 = 1;
        assert_eq!(run(4, &mut st3), vec![1, 2, 3, 4]);
        assert_eq!(st3, 5);
    }
}
