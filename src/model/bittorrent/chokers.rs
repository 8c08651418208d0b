//! Chokers that follow a real client's rule: libtorrent's seed chokers (each a
//! ranking), its `rate_based_choker` (a slot count that follows the upload rates)
//! and mainline 4.0.1's seed rule (a few new unchokes per 30 s, in list order).
//! The rules, with the source of each, are in docs/CLIENT-RULES.md.

use super::policy::{Candidate, ChokeContext, Choker, top_by};

/// Implements [`Choker`] for a choker that ranks the interested neighbours by one
/// order and unchokes the first `slots` (libtorrent's seed chokers, each one
/// comparator of src/choker.cpp): `|s, a, b| ...` says how `a` compares with `b`
/// (`Less`: `a` first), `s` being the choker; the neighbour id breaks the ties
/// left. Such a choker reads the unchoke history.
macro_rules! ranking_choker {
    ($t:ty, |$s:ident, $a:ident, $b:ident| $before:expr) => {
        impl Choker for $t {
            fn choose(
                &mut self,
                _cx: &mut ChokeContext<'_>,
                cands: &[Candidate],
                slots: usize,
                out: &mut Vec<usize>,
            ) {
                let $s = &*self;
                top_by_order(cands, slots, out, |$a, $b| $before);
            }

            fn reads_unchoke_history(&self) -> bool {
                true
            }
        }
    };
}

/// Pushes the indices of the `slots` candidates that come first by `before` (a
/// total order: every key ends with the neighbour id), first first.
fn top_by_order(
    cands: &[Candidate],
    slots: usize,
    out: &mut Vec<usize>,
    before: impl Fn(&Candidate, &Candidate) -> std::cmp::Ordering,
) {
    let start = out.len();
    out.extend(0..cands.len());
    out[start..].sort_unstable_by(|&a, &b| {
        before(&cands[a], &cands[b]).then(cands[a].neighbour.cmp(&cands[b].neighbour))
    });
    out.truncate(start + slots.min(cands.len()));
}

/// libtorrent's `round_robin` seed choker (`unchoke_compare_rr`, src/choker.cpp,
/// libtorrent 2.0.8). Order: (1) an unchoked peer that has been sent more than
/// `quota_bytes` since its unchoke *and* has been unchoked for more than
/// `quota_time` ("quota complete") after every other; (2) more bytes sent in the
/// last round first, counting 0 for choked peers; (3) longest since its last
/// unchoke first; (4) neighbour id (libtorrent leaves this tie to `nth_element`).
/// libtorrent's first key, bytes received in the last round (`compare_peers`), is
/// 0 for every peer of a seed and is left out.
pub struct RoundRobinQuota {
    /// `seeding_piece_quota` x the piece size, bytes.
    pub quota_bytes: f64,
    /// Time unchoked before the slot can be lost, seconds (one minute in
    /// libtorrent 2.0.8).
    pub quota_time: f64,
}

impl RoundRobinQuota {
    /// Whether `c` has used up its unchoke (rule (1) above).
    pub fn quota_complete(&self, c: &Candidate) -> bool {
        c.unchoked && c.sent_since_unchoke > self.quota_bytes && c.since_unchoke > self.quota_time
    }
}

ranking_choker!(RoundRobinQuota, |s, a, b| {
    let round = |c: &Candidate| if c.unchoked { c.sent_round } else { 0.0 };
    s.quota_complete(a)
        .cmp(&s.quota_complete(b))
        .then(round(b).total_cmp(&round(a)))
        .then(b.since_unchoke.total_cmp(&a.since_unchoke))
});

/// libtorrent's `fastest_upload` seed choker (`unchoke_compare_fastest_upload`,
/// src/choker.cpp, libtorrent 2.0.8): most bytes sent in the last round first,
/// then longest since the last unchoke, then neighbour id.
pub struct FastestUpload;

ranking_choker!(FastestUpload, |_s, a, b| b
    .sent_round
    .total_cmp(&a.sent_round)
    .then(b.since_unchoke.total_cmp(&a.since_unchoke)));

/// libtorrent's `anti_leech` seed choker (`anti_leech_score`,
/// `unchoke_compare_anti_leech`, src/choker.cpp, libtorrent 2.0.8), after Chow et
/// al., "Improving BitTorrent: A Simple Approach": highest score first, then
/// longest since the last unchoke, then neighbour id. The score is
/// `|(h - F/2) x 2000 / F|` in integer arithmetic, with `F` the file size and
/// `h` = max(bytes we sent it, chunks it has x chunk size): high for peers that
/// just started or nearly finished.
pub struct AntiLeech {
    /// The file size, bytes.
    pub file_bytes: f64,
    /// The chunk size, bytes.
    pub chunk_bytes: f64,
}

impl AntiLeech {
    /// The score of `c` (0 to 1000).
    pub fn score(&self, c: &Candidate) -> i64 {
        let total = self.file_bytes as i64;
        if total == 0 {
            return 0;
        }
        let have = (c.uploaded as i64).max(self.chunk_bytes as i64 * i64::from(c.have));
        // (C++ integer division truncates toward zero, as Rust's does.)
        ((have - total / 2) * 2000 / total).abs()
    }
}

ranking_choker!(AntiLeech, |s, a, b| s
    .score(b)
    .cmp(&s.score(a))
    .then(b.since_unchoke.total_cmp(&a.since_unchoke)));

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
    use super::super::test_support::{chosen, hist};
    use super::*;
    use crate::engine::Time;
    use crate::engine::rng_from_seed;

    /// libtorrent's round-robin seed choker, by hand from `unchoke_compare_rr`
    /// (src/choker.cpp, 2.0.8) with a quota of 20 pieces of 100 bytes (2000 B) and
    /// 60 s. Neighbour 1: unchoked 70 s, sent 3000 B since: both quotas used, so it
    /// ranks last although it got the most this round. Neighbour 2: unchoked 70 s
    /// but sent only 1500 B: keeps its slot. Neighbour 3: unchoked 30 s, sent
    /// 5000 B: time quota not used, keeps its slot. Neighbours 4 and 5: choked (their
    /// round counts as 0 even if a residual transfer was credited), waiting 200 s
    /// and 100 s. With 3 slots: 2 and 3 (by round bytes: 3 sent 900, 2 sent 800),
    /// then the longest waiting, 4.
    #[test]
    fn round_robin_quota_by_hand() {
        let cands = [
            hist(1, true, 1000.0, 3000.0, 70.0),
            hist(2, true, 800.0, 1500.0, 70.0),
            hist(3, true, 900.0, 5000.0, 30.0),
            hist(4, false, 50.0, 0.0, 200.0),
            hist(5, false, 0.0, 0.0, 100.0),
        ];
        let mut rr = RoundRobinQuota {
            quota_bytes: 2000.0,
            quota_time: 60.0,
        };
        assert!(rr.quota_complete(&cands[0]));
        assert!(!rr.quota_complete(&cands[1]) && !rr.quota_complete(&cands[2]));
        assert_eq!(chosen(&mut rr, &cands, 3), vec![2, 1, 3]);
        // With 5 slots everyone, the quota-complete peer last.
        assert_eq!(chosen(&mut rr, &cands, 5), vec![2, 1, 3, 4, 0]);
        // Exactly at the quota (not more than) the slot is kept: 2000 B, 60 s.
        assert!(!rr.quota_complete(&hist(6, true, 0.0, 2000.0, 70.0)));
        assert!(!rr.quota_complete(&hist(6, true, 0.0, 3000.0, 60.0)));
        // A choked peer never has a complete quota.
        assert!(!rr.quota_complete(&hist(6, false, 0.0, 3000.0, 70.0)));
    }

    /// libtorrent's fastest-upload seed choker, by hand from
    /// `unchoke_compare_fastest_upload`: bytes this round down (a choked peer's
    /// residual bytes count), then longest since the last unchoke, then id.
    #[test]
    fn fastest_upload_by_hand() {
        let cands = [
            hist(1, true, 100.0, 0.0, 10.0),
            hist(2, false, 300.0, 0.0, 5.0),
            hist(3, false, 0.0, 0.0, 50.0),
            hist(4, false, 0.0, 0.0, 80.0),
            hist(5, true, 100.0, 0.0, 20.0),
        ];
        assert_eq!(chosen(&mut FastestUpload, &cands, 4), vec![1, 4, 0, 3]);
    }

    /// libtorrent's anti-leech seed choker, by hand from `anti_leech_score`: file
    /// 1000 B, chunks 100 B. Scores |(h - 500) x 2000 / 1000|: 0 chunks -> 1000;
    /// 2 chunks (200 B) -> 600; 5 chunks -> 0; 9 chunks -> 800; 3 chunks but 450 B
    /// sent to it (h = max) -> 100. Order: 1000, 800, 600, 100, 0.
    #[test]
    fn anti_leech_by_hand() {
        let mut al = AntiLeech {
            file_bytes: 1000.0,
            chunk_bytes: 100.0,
        };
        let c = |n, have, uploaded| Candidate {
            neighbour: n,
            have,
            uploaded,
            ..Candidate::default()
        };
        let cands = [
            c(1, 2, 0.0),
            c(2, 5, 0.0),
            c(3, 0, 0.0),
            c(4, 9, 0.0),
            c(5, 3, 450.0),
        ];
        let scores: Vec<i64> = cands.iter().map(|x| al.score(x)).collect();
        assert_eq!(scores, vec![600, 0, 1000, 800, 100]);
        assert_eq!(chosen(&mut al, &cands, 5), vec![2, 3, 0, 4, 1]);
        // Equal scores: longest since the last unchoke first.
        let mut a = c(7, 0, 0.0);
        a.since_unchoke = 5.0;
        let mut b = c(8, 10, 0.0);
        b.since_unchoke = 9.0;
        assert_eq!(
            chosen(&mut al, &[a, b], 1),
            vec![1],
            "both score 1000; neighbour 8 waited longer"
        );
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
            hist(1, true, 60_000.0, 0.0, 0.0),
            hist(2, true, 45_000.0, 0.0, 0.0),
            hist(3, true, 100_000.0, 0.0, 0.0),
            hist(4, false, 15_000.0, 0.0, 0.0),
            hist(5, false, 0.0, 0.0, 0.0),
        ];
        let mut rb = RateBased { interval: 15.0 };
        assert_eq!(rb.slots(&cands), 2);
        assert_eq!(chosen(&mut rb, &cands, 7), vec![4, 3]);
        // Nobody sent 1 KiB/s (15,359 B in 15 s is 1023 B/s): no regular slot.
        let slow = [hist(1, true, 15_359.0, 0.0, 0.0)];
        assert_eq!(rb.slots(&slow), 0);
        // A rate equal to its threshold counts: three at 5120 B/s over 1 s pass
        // 1024, 3072 and 5120; with the third at 5119 B/s it does not.
        let rb1 = RateBased { interval: 1.0 };
        let at = |third: f64| {
            [
                hist(1, true, 5120.0, 0.0, 0.0),
                hist(2, true, 5120.0, 0.0, 0.0),
                hist(3, true, third, 0.0, 0.0),
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
        // (id, unchoked, our rate to it, seconds since its unchoke)
        let c = |n, unchoked, rate, since| Candidate {
            sent_rate: rate,
            ..hist(n, unchoked, 0.0, 0.0, since)
        };
        let cands = [
            c(1, true, 300.0, 50.0),
            c(2, true, 100.0, 10.0),
            c(3, true, 500.0, 20.0),
            c(4, true, 400.0, 40.0),
            c(5, false, 0.0, 100.0),
            c(6, false, 0.0, 100.0),
            c(7, false, 0.0, 100.0),
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
