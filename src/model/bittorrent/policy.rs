//! Pluggable BitTorrent policies: piece pickers and chokers.
//!
//! A user can implement [`PiecePicker`] or [`Choker`], hand it to
//! [`super::BitTorrent::with_policies`] and run the protocol with
//! [`crate::model::simulate_protocol`] (`examples/custom_picker.rs` and
//! `examples/custom_choker.rs` do so end to end).
//!
//! This file holds the [`Choker`] trait, what a choker sees ([`Candidate`],
//! [`ChokeContext`]) and the shipped leecher and libtorrent seed chokers; the
//! pickers live in `policy/pickers.rs` and the mainline and rate-based chokers in
//! `chokers.rs`, both re-exported here.

mod pickers;

pub use super::chokers::{AntiLeech, FastestUpload, MainlineSeed, RateBased, RoundRobinQuota};
use crate::engine::{SimRng, Time};
use crate::network::NodeId;
use crate::scenario::{BitTorrentConfig, ChokerKind, SeedChoker};
pub use pickers::{
    AvailRow, GlobalRarest, PickContext, PiecePicker, RandomPicker, RarestFirst, Sequential, picker,
};

pub use crate::model::bitset::{Ones, ones, ones_in};

/// A neighbour interested in what a node has, as a choker sees it.
///
/// The fields after `unchoked` are filled only for the seed chokers that read
/// them ([`RoundRobinQuota`], [`FastestUpload`], [`AntiLeech`]); they are zero
/// for the others.
#[derive(Clone, Copy, Debug, Default)]
pub struct Candidate {
    /// The neighbour.
    pub neighbour: NodeId,
    /// Rate at which it uploaded to us over the rate window, bytes/s.
    pub recv_rate: f64,
    /// Rate at which it took our uploads over the rate window, bytes/s.
    pub sent_rate: f64,
    /// Whether we unchoke it now.
    pub unchoked: bool,
    /// Bytes we sent it since the last rechoke (libtorrent's
    /// `uploaded_in_last_round`).
    pub sent_round: f64,
    /// Bytes we sent it since its current unchoke began (0 while choked;
    /// libtorrent's `uploaded_since_unchoked`).
    pub sent_since_unchoke: f64,
    /// Seconds since we last unchoked it, or since the connection opened if we
    /// never did (libtorrent's `time_of_last_unchoke`, which a new connection sets
    /// to its opening time).
    pub since_unchoke: f64,
    /// Bytes we sent it over this connection in all (libtorrent's
    /// `total_payload_upload`).
    pub uploaded: f64,
    /// Chunks it has.
    pub have: u32,
}

/// What a choker knows of the rechoke it decides, beside the candidates.
pub struct ChokeContext<'a> {
    /// The node that rechokes.
    pub node: NodeId,
    /// The current virtual time.
    pub now: Time,
    /// How many rechokes the node made before this one (0 at its first; a
    /// rechoke skipped while the swarm is idle counts).
    pub round: u64,
    /// The simulation's RNG, the only source of randomness (a choker that draws from
    /// it stays reproducible).
    pub rng: &'a mut SimRng,
    /// This choker's state at this node, kept by the protocol from one of the
    /// node's rechokes to the next (0 at the first): where a round-robin choker
    /// stopped, say. A node's leecher choker and seed choker each have their own.
    pub state: &'a mut u32,
}

/// Chooses the regular unchokes of a node at a rechoke. One instance serves every
/// node (leechers or seeds); what it keeps per node lives in
/// [`ChokeContext::state`], one word per node and choker.
pub trait Choker: Send {
    /// Pushes into `out` the indices into `cands` to unchoke (at most `slots`,
    /// unless the choker unchokes everyone).
    fn choose(
        &mut self,
        cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        slots: usize,
        out: &mut Vec<usize>,
    );

    /// Whether an optimistic unchoke is added on top of the regular ones.
    fn uses_optimistic(&self) -> bool {
        true
    }

    /// How many regular unchokes a node may hold between its rechokes, given the
    /// scenario's `slots`: a neighbour that becomes interested is unchoked at once
    /// while fewer are held (libtorrent's preemptive unchoke), and a slot freed by
    /// a neighbour that lost interest is refilled. `None`: no limit. The default is
    /// `slots`.
    fn slots_between_rechokes(&self, slots: u32) -> Option<u32> {
        Some(slots)
    }

    /// Whether `choose` reads the unchoke history of [`Candidate`] (its fields
    /// after `unchoked`); the protocol keeps that history only if a choker does.
    /// The default is false.
    fn reads_unchoke_history(&self) -> bool {
        false
    }
}

/// The choker's order as one integer, smallest first: rate down (in `f64::total_cmp`
/// order), current unchokes first, then neighbour id up. Distinct neighbours give
/// distinct keys, so the order is total.
fn choke_key(rate: f64, unchoked: bool, neighbour: NodeId) -> u128 {
    // `total_cmp`'s own mapping of the bits to an `i64` in the same order, then to a
    // `u64` in that order (sign bit flipped), then inverted for "rate down".
    let t = rate.to_bits() as i64;
    let t = t ^ (((t >> 63) as u64) >> 1) as i64;
    let up = (t as u64) ^ (1 << 63);
    ((!up as u128) << 64) | ((!unchoked as u128) << 32) | neighbour as u128
}

/// Pushes the indices of the `slots` candidates with the highest rate, highest first;
/// ties keep the current unchokes first, then neighbour order (deterministic). The
/// order is total (neighbours are distinct), so keeping the best few while scanning
/// (or, for many slots, a partial selection followed by a sort of the chosen few)
/// gives the same list as a full sort, without allocating.
pub(super) fn top_by(
    cands: &[Candidate],
    slots: usize,
    out: &mut Vec<usize>,
    rate: impl Fn(&Candidate) -> f64,
) {
    let key = |i: usize| {
        let c = &cands[i];
        choke_key(rate(c), c.unchoked, c.neighbour)
    };
    let take = slots.min(cands.len());
    if take == 0 {
        return;
    }
    if take <= 16 {
        // Few slots (4 by default): keep the best `take` keys in order while
        // scanning once; most candidates are rejected by one comparison with the
        // last kept.
        let mut kept = [(0u128, 0usize); 16];
        let mut len = 0;
        for i in 0..cands.len() {
            let k = key(i);
            if len == take {
                if k >= kept[len - 1].0 {
                    continue;
                }
                len -= 1;
            }
            let mut p = len;
            while p > 0 && k < kept[p - 1].0 {
                kept[p] = kept[p - 1];
                p -= 1;
            }
            kept[p] = (k, i);
            len += 1;
        }
        out.extend(kept[..len].iter().map(|&(_, i)| i));
        return;
    }
    let start = out.len();
    let cmp = |&a: &usize, &b: &usize| key(a).cmp(&key(b));
    out.extend(0..cands.len());
    let idx = &mut out[start..];
    if take < idx.len() {
        idx.select_nth_unstable_by(take - 1, cmp);
    }
    idx[..take].sort_unstable_by(cmp);
    out.truncate(start + take);
}

/// Tit-for-tat: the neighbours that uploaded to us fastest.
pub struct TitForTat;

impl Choker for TitForTat {
    fn choose(
        &mut self,
        _cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        slots: usize,
        out: &mut Vec<usize>,
    ) {
        top_by(cands, slots, out, |c| c.recv_rate);
    }
}

/// For seeds: the neighbours that took our uploads fastest.
pub struct Fastest;

impl Choker for Fastest {
    fn choose(
        &mut self,
        _cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        slots: usize,
        out: &mut Vec<usize>,
    ) {
        top_by(cands, slots, out, |c| c.sent_rate);
    }
}

/// Every interested neighbour.
pub struct UnchokeAll;

impl Choker for UnchokeAll {
    fn choose(
        &mut self,
        _cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        _slots: usize,
        out: &mut Vec<usize>,
    ) {
        out.extend(0..cands.len());
    }

    fn uses_optimistic(&self) -> bool {
        false
    }

    fn slots_between_rechokes(&self, _slots: u32) -> Option<u32> {
        None
    }
}

/// Interested neighbours take turns in order of node id, `slots` at a time.
pub struct RoundRobin;

impl Choker for RoundRobin {
    fn choose(
        &mut self,
        cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        slots: usize,
        out: &mut Vec<usize>,
    ) {
        // The state is the neighbour whose turn came last.
        let cursor = &mut *cx.state;
        let mut idx: Vec<usize> = (0..cands.len()).collect();
        idx.sort_by_key(|&i| cands[i].neighbour);
        let start = idx
            .iter()
            .position(|&i| cands[i].neighbour > *cursor)
            .unwrap_or(0);
        let take = slots.min(idx.len());
        for k in 0..take {
            out.push(idx[(start + k) % idx.len()]);
        }
        if let Some(&last) = out.last() {
            *cursor = cands[last].neighbour;
        }
    }

    fn uses_optimistic(&self) -> bool {
        false
    }
}

/// The shipped leecher choker of the scenario's `choker` kind.
pub fn leech_choker(cfg: &BitTorrentConfig) -> Box<dyn Choker> {
    match cfg.choker {
        ChokerKind::TitForTat => Box::new(TitForTat),
        ChokerKind::UnchokeAll => Box::new(UnchokeAll),
        ChokerKind::RoundRobin => Box::new(RoundRobin),
        ChokerKind::RateBased => Box::new(RateBased {
            interval: cfg.rechoke_interval,
        }),
    }
}

/// The shipped seed choker of the scenario's `seed_choker` kind, with its quota
/// fields and the file's sizes.
pub fn seed_choker(cfg: &BitTorrentConfig, file_bytes: f64, chunk_bytes: f64) -> Box<dyn Choker> {
    match cfg.seed_choker {
        SeedChoker::Fastest => Box::new(Fastest),
        SeedChoker::RoundRobin => Box::new(RoundRobin),
        SeedChoker::RoundRobinQuota => Box::new(RoundRobinQuota {
            quota_bytes: f64::from(cfg.seed_quota_pieces) * chunk_bytes,
            quota_time: cfg.seed_quota_time,
        }),
        SeedChoker::FastestUpload => Box::new(FastestUpload),
        SeedChoker::AntiLeech => Box::new(AntiLeech {
            file_bytes,
            chunk_bytes,
        }),
        SeedChoker::Mainline => Box::new(MainlineSeed {
            interval: cfg.rechoke_interval,
        }),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::engine::rng_from_seed;

    #[test]
    fn chokers() {
        let c = super::super::test_support::rated;
        let cands = [
            c(1, 5.0, 0.0, false),
            c(2, 9.0, 1.0, false),
            c(3, 7.0, 3.0, true),
            c(4, 1.0, 2.0, false),
        ];
        let mut out = Vec::new();
        let (mut rng, mut cursor) = (rng_from_seed(1), 0);
        let mut cx = ChokeContext {
            node: 1,
            now: Time::ZERO,
            round: 0,
            rng: &mut rng,
            state: &mut cursor,
        };
        TitForTat.choose(&mut cx, &cands, 2, &mut out);
        assert_eq!(out, vec![1, 2], "recv rates 9 and 7 are the top two");
        out.clear();
        Fastest.choose(&mut cx, &cands, 2, &mut out);
        assert_eq!(out, vec![2, 3], "sent rates 3 and 2 are the top two");
        out.clear();
        RoundRobin.choose(&mut cx, &cands, 3, &mut out);
        assert_eq!(out, vec![0, 1, 2]);
        out.clear();
        RoundRobin.choose(&mut cx, &cands, 3, &mut out);
        assert_eq!(out, vec![3, 0, 1], "turns continue after neighbour 3");
    }

    proptest::proptest! {
        /// The partial selection in `top_by` gives exactly the first `slots` entries of
        /// a full sort by the documented order (rate down, current unchokes first,
        /// then neighbour id up); rates are drawn from a few values to force ties.
        #[test]
        fn top_by_equals_full_sort(rates in proptest::collection::vec((0u8..4, proptest::bool::ANY), 0..40), slots in 0usize..30) {
            let cands: Vec<Candidate> = rates
                .iter()
                .enumerate()
                .map(|(i, &(r, u))| Candidate {
                    neighbour: (i as u32 * 7919) % 1000,
                    recv_rate: r as f64,
                    sent_rate: 0.0,
                    unchoked: u,
                    ..Candidate::default()
                })
                .collect();
            let mut full: Vec<usize> = (0..cands.len()).collect();
            full.sort_by(|&a, &b| {
                let (x, y) = (&cands[a], &cands[b]);
                y.recv_rate
                    .total_cmp(&x.recv_rate)
                    .then(y.unchoked.cmp(&x.unchoked))
                    .then(x.neighbour.cmp(&y.neighbour))
            });
            full.truncate(slots);
            let mut out = Vec::new();
            let mut rng = rng_from_seed(1);
            let mut cx = ChokeContext {
                node: 1,
                now: Time::ZERO,
                round: 0,
                rng: &mut rng,
                state: &mut 0,
            };
            TitForTat.choose(&mut cx, &cands, slots, &mut out);
            proptest::prop_assert_eq!(out, full);
        }

        /// `choke_key` orders any two candidates as the documented comparison does
        /// (`f64::total_cmp` of the rates, down; unchoked first; neighbour id up), for
        /// every bit pattern of the rates, including -0.0, infinities and NaNs.
        #[test]
        fn choke_key_orders_as_the_comparison(
            a in proptest::num::u64::ANY, b in proptest::num::u64::ANY,
            ua in proptest::bool::ANY, ub in proptest::bool::ANY,
            na in 0u32..4, nb in 0u32..4, same in proptest::bool::ANY,
        ) {
            let (x, y) = (f64::from_bits(a), if same { f64::from_bits(a) } else { f64::from_bits(b) });
            let want = y.total_cmp(&x).then(ub.cmp(&ua)).then(na.cmp(&nb));
            proptest::prop_assert_eq!(super::choke_key(x, ua, na).cmp(&super::choke_key(y, ub, nb)), want);
        }
    }

    /// The key's order on the rates a choker sees, by hand: 2.0 before 1.0 before 0.0
    /// before -0.0 (`total_cmp` puts -0.0 below 0.0); at equal rates the current
    /// unchoke first, then the lower neighbour id.
    #[test]
    fn choke_key_by_hand() {
        use super::choke_key as k;
        assert!(k(2.0, false, 9) < k(1.0, true, 0));
        assert!(k(1.0, false, 0) < k(0.0, true, 0));
        assert!(k(0.0, false, 5) < k(-0.0, true, 0));
        assert!(k(1.0, true, 7) < k(1.0, false, 3));
        assert!(k(1.0, false, 3) < k(1.0, false, 4));
        assert!(k(f64::INFINITY, false, 0) < k(f64::MAX, true, 0));
    }
}
