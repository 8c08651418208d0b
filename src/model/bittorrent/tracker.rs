//! The tracker: arrivals and departures, announces (a random sample of the nodes
//! present, connected up to the connection cap) and when a leecher announces again.

use super::timers::BtTimer;
use super::{BitTorrent, NONE, SERVER, Sim, peer_of, policy};
use crate::engine::Time;
use crate::network::NodeId;
use rand::seq::index;

impl BitTorrent {
    /// Node `n` announces: it connects to a random sample of the nodes on the
    /// tracker, up to the connection cap at either end.
    pub(super) fn announce(&mut self, sim: &mut Sim, n: NodeId) {
        let node = &mut self.nodes[n as usize];
        node.last_announce = Some(sim.now);
        node.announce_at = None;
        let len = self.tracker.len();
        let want = (self.cfg.max_peers as usize).min(len);
        let picked: Vec<NodeId> = index::sample(&mut sim.rng, len, want)
            .into_iter()
            .map(|i| self.tracker[i])
            .collect();
        let cap = self.cfg.max_connections;
        for m in picked {
            if self.deg[n as usize] >= cap {
                break;
            }
            if m == n
                || self.deg[m as usize] >= cap
                || self.links_of(n).iter().any(|l| l.other == m)
            {
                continue;
            }
            self.connect(sim, n, m);
        }
        self.maybe_reannounce(sim, n);
    }

    /// One re-announce interval after `t` (`Time::MAX` if that is beyond virtual
    /// time).
    pub(super) fn reannounce_after(&self, t: Time) -> Time {
        let d = Time::from_secs_ceil(self.cfg.reannounce_interval).unwrap_or(Time::MAX);
        t.checked_add(d).unwrap_or(Time::MAX)
    }

    /// Schedules an announce if `n` is a leecher with too few neighbours.
    pub(super) fn maybe_reannounce(&mut self, sim: &mut Sim, n: NodeId) {
        let node = &self.nodes[n as usize];
        if n == SERVER
            || !self.present[n as usize]
            || node.complete
            || node.announce_at.is_some()
            || self.deg[n as usize] >= self.cfg.min_peers
        {
            return;
        }
        let earliest = match node.last_announce {
            Some(t) => self.reannounce_after(t),
            None => sim.now,
        };
        let at = earliest.max(sim.now);
        self.nodes[n as usize].announce_at = Some(at);
        sim.set_timer(at, BtTimer::Announce { node: n });
    }

    /// A leecher is starving when for a whole re-announce interval since its last
    /// announce nothing reached it and nothing is on its way, while it has room for
    /// more connections and no neighbour has a chunk it lacks: it then announces
    /// again at its next rechoke, even with `min_peers` neighbours or more (real
    /// clients announce at every tracker interval; this does so only where the
    /// neighbours it has can give it nothing). Without it a leecher whose
    /// neighbours hold nothing it lacks (free riders holding nothing) waits for
    /// ever. A leecher that waits for a neighbour to unchoke it is not starving.
    pub(super) fn starving(&self, sim: &Sim, n: NodeId) -> bool {
        let node = &self.nodes[n as usize];
        if n == SERVER
            || node.complete
            || !node.downloads.is_empty()
            || node.announce_at.is_some()
            || self.deg[n as usize] >= self.cfg.max_connections
        {
            return false;
        }
        let since = match (node.last_got, node.last_announce) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b).unwrap_or(Time::ZERO),
        };
        // (An interval that ends beyond virtual time never ends.)
        sim.now >= self.reannounce_after(since)
            && sim.now < Time::MAX
            && !self.links_of(n).iter().any(|l| self.interested(n, l.other))
    }

    /// Node `n` leaves the swarm: off the tracker, every connection closed, its
    /// block of links freed.
    pub(super) fn depart(&mut self, sim: &mut Sim, n: NodeId) {
        if !self.present[n as usize] {
            return;
        }
        self.present[n as usize] = false;
        // Off the tracker.
        let pos = self.tracker_pos[n as usize] as usize;
        let last = *self.tracker.last().expect("n is listed");
        self.tracker.swap_remove(pos);
        if last != n {
            self.tracker_pos[last as usize] = pos as u32;
        }
        self.tracker_pos[n as usize] = NONE;
        for c in policy::ones(Self::row(&self.have, self.words, n)).collect::<Vec<_>>() {
            self.copies[c as usize] -= 1;
        }
        while let Some(l) = self.links_of(n).last() {
            self.disconnect(sim, l.conn);
        }
        // A departed node never connects again: give its block of links to the next
        // arrival and its lists' memory back (in a swarm with churn, most nodes that
        // ever lived are gone).
        self.free_blocks.push(self.block[n as usize]);
        self.block[n as usize] = NONE;
        let node = &mut self.nodes[n as usize];
        node.downloads = Vec::new();
        node.partial = Vec::new();
        node.started_dirty = Vec::new();
        if self.blocks() {
            self.clear_started_rows(n);
            let base = self.cell(n, 0);
            self.got[base..base + self.chunks as usize].fill(0.0);
        }
        sim.depart(peer_of(n));
    }

    /// Peer node `n` joins: it gets a block of links, announces (before the
    /// tracker lists it, so that it never picks itself) and starts rechoking.
    pub(super) fn join(&mut self, sim: &mut Sim, n: NodeId) {
        self.present[n as usize] = true;
        self.take_block(n);
        self.tracker_pos[n as usize] = self.tracker.len() as u32;
        self.announce(sim, n);
        self.tracker.push(n);
        let at = sim.after(self.cfg.rechoke_interval);
        sim.set_timer(at, BtTimer::Rechoke { node: n });
        if self.ticking() {
            let at = sim.after(1.0);
            sim.set_timer(at, BtTimer::Tick { node: n });
        }
    }
}
