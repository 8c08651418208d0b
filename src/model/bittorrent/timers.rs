//! Timers and delayed messages: the protocol's timer kinds, their dispatch, and the
//! watchdog that ends a run in which nothing can move any more.

use super::{BitTorrent, NONE, Sim};
use crate::engine::Time;
use crate::network::NodeId;

/// A BitTorrent timer or delayed message, as the event queue carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BtTimer {
    /// A node's periodic rechoke.
    Rechoke {
        /// The node that rechokes.
        node: NodeId,
    },
    /// A rechoke between a node's periodic ones, due because a neighbour it
    /// unchoked lost interest (`lost_interest = "next-tick"`).
    Trigger {
        /// The node that rechokes.
        node: NodeId,
    },
    /// A leecher's announce to the tracker.
    Announce {
        /// The node that announces.
        node: NodeId,
    },
    /// A seed leaves the swarm.
    Depart {
        /// The node that leaves.
        node: NodeId,
    },
    /// A request reaches the uploader (after both ends' latency).
    Request {
        /// The node that requested.
        dl: NodeId,
        /// The connection it was sent over.
        conn: u32,
        /// The id of the requested part among `dl`'s downloads.
        part: u32,
    },
    /// A HAVE message reaches a neighbour (after both ends' latency).
    Have {
        /// The node it reaches.
        to: NodeId,
        /// The connection it was sent over.
        conn: u32,
        /// The chunk the sender now has.
        chunk: u32,
    },
    /// A leecher's once-a-second tick: its connections' averaged download rates
    /// (`request_rate = "ewma-5s"`) and the retries of its idle connections
    /// (`idle_retry = "every-5s"`).
    Tick {
        /// The node that ticks.
        node: NodeId,
    },
    /// The watchdog checks that something moved.
    Watchdog,
}

impl BitTorrent {
    /// The same protocol with periodic timers that tick through idle stretches, for
    /// tests that compare the two.
    #[cfg(test)]
    pub(super) fn without_skipping(mut self) -> Self {
        self.skip_idle = false;
        self
    }

    /// When a periodic timer (every `period` seconds) that fires now fires next, and
    /// how many of its ticks it skips. While every node present has the whole file,
    /// nothing can change before the next arrival: no node is interested in another,
    /// no transfer or request runs, HAVEs find their chunk held, and a rechoke only
    /// counts and clears rate buckets (with no inactivity timeout or no link; `may`
    /// says so for a rechoke). Then the timer sleeps to its last tick before the
    /// arrival, which fires and re-arms it as usual, so that its ticks keep their
    /// times and, armed by the tick before as ever, their order among events of the
    /// same time; the skipped ticks' counting is done by the caller.
    pub(super) fn next_tick(&self, sim: &Sim, period: f64, may: bool) -> (Time, u64) {
        let d = Time::from_secs_ceil(period).unwrap_or(Time::MAX);
        let next = sim.now.checked_add(d).unwrap_or(Time::MAX);
        if !(self.skip_idle && may) || sim.leechers_present() > 0 || d.0 == 0 {
            return (next, 0);
        }
        let Some(arrival) = sim.next_arrival() else {
            return (next, 0);
        };
        // Ticks at now + j d; the last before the arrival has j = ceil(gap / d) - 1.
        let j = arrival
            .0
            .saturating_sub(sim.now.0)
            .div_ceil(d.0)
            .saturating_sub(1);
        if j <= 1 {
            return (next, 0);
        }
        (Time(sim.now.0 + j * d.0), j - 1)
    }

    /// Counts `k` skipped rechokes of `n` ([`BitTorrent::next_tick`]): each would have
    /// moved to the next rate period, clearing that bucket of every link.
    pub(super) fn skip_rechokes(&mut self, n: NodeId, k: u64) {
        self.stats.rechokes += k;
        let b = self.buckets as u64;
        let node = &mut self.nodes[n as usize];
        node.rechokes += k;
        let first = node.period as u64 + 1;
        // (Only the period modulo `b` is ever read.)
        node.period = ((node.period as u64 + k) % b) as u32;
        let (width, b) = (2 * self.buckets, self.buckets);
        let (d, rb) = (self.deg[n as usize] as usize, self.rbase(n));
        for ring in self.rates[rb..rb + d * width].chunks_exact_mut(width) {
            for i in 0..k.min(b as u64) {
                let bk = ((first + i) % b as u64) as usize;
                ring[bk] = 0.0;
                ring[b + bk] = 0.0;
            }
        }
    }

    /// How long the watchdog waits for a chunk to move before it ends the run.
    pub(super) fn watchdog_period(&self) -> f64 {
        let p = (20.0 * self.cfg.rechoke_interval)
            .max(2.0 * self.cfg.reannounce_interval)
            .max(600.0);
        if self.idle_checks == 0 {
            return p;
        }
        // With an inactivity timeout a quiet swarm can still recover: an idle
        // connection closes within (checks + 1) rechoke periods of the last chunk
        // moved, and a peer left with too few neighbours announces again within a
        // re-announce interval; the window covers both, with two rechokes to spare.
        p.max(
            (self.idle_checks as f64 + 3.0) * self.cfg.rechoke_interval
                + self.cfg.reannounce_interval,
        )
    }

    /// Ends the run if no chunk moved since the last check and nothing can move;
    /// otherwise checks again a period later.
    pub(super) fn watchdog(&mut self, sim: &mut Sim) {
        let stuck = self.completions_since_watchdog == 0
            && sim.network().active_flows() == 0
            && self.messages_in_flight == 0
            && sim.arrived() == sim.peers.len() as u64;
        if stuck {
            let missing = (0..self.chunks)
                .filter(|&c| self.copies[c as usize] == 0)
                .count();
            sim.halt(format!(
                "no chunk moved for {:.0} s and no transfer is in progress ({} chunks have no copy among peers)",
                self.watchdog_period(),
                missing
            ));
            return;
        }
        self.completions_since_watchdog = 0;
        let (at, _) = self.next_tick(sim, self.watchdog_period(), true);
        sim.set_timer(at, BtTimer::Watchdog);
    }

    /// Timer `timer` fired.
    pub(super) fn fire(&mut self, sim: &mut Sim, timer: BtTimer) {
        match timer {
            BtTimer::Rechoke { node } => self.rechoke(sim, node),
            BtTimer::Trigger { node } => {
                if let Some(new_optimistic) = self.nodes[node as usize].trigger.take()
                    && self.present[node as usize]
                {
                    self.choose_unchokes(sim, node, new_optimistic);
                }
            }
            BtTimer::Announce { node } => {
                if self.present[node as usize] && !self.nodes[node as usize].complete {
                    self.announce(sim, node);
                } else {
                    self.nodes[node as usize].announce_at = None;
                }
            }
            BtTimer::Depart { node } => self.depart(sim, node),
            BtTimer::Request { dl, conn, part } => {
                self.messages_in_flight -= 1;
                let Some(k) = self.nodes[dl as usize]
                    .downloads
                    .iter()
                    .position(|p| p.flow == NONE && !p.arrived && p.part == part && p.conn == conn)
                else {
                    return; // cancelled meanwhile (connection closed or chunk arrived)
                };
                let ul = self.other(conn, dl);
                let p = self.nodes[dl as usize].downloads[k];
                debug_assert_eq!(self.lk(dl, p.pos).conn, conn);
                let choked = !self.lk(dl, p.pos).unchoked && !self.is_fast(dl, p.chunk);
                if choked || self.has(dl, p.chunk) {
                    self.cancel_part(sim, dl, k, true);
                    self.retry_all(sim, dl);
                } else if self.blocks() {
                    // Queued at the uploader, served in its turn.
                    self.nodes[dl as usize].downloads[k].arrived = true;
                    self.serve_next(sim, dl, p.pos);
                } else {
                    let f = sim.start_transfer_bytes(ul, dl, p.chunk, p.bytes);
                    self.nodes[dl as usize].downloads[k].flow = f;
                }
            }
            BtTimer::Have { to, conn, chunk } => {
                self.messages_in_flight -= 1;
                let k = &self.conns[conn as usize];
                // A HAVE outlives a closed connection; if the id was reused, the new
                // neighbour reacts only if it really has the chunk.
                let from = self.other(conn, to);
                if k.alive && k.ends.contains(&to) && self.has(from, chunk) {
                    let i = self.pos_of(conn, to);
                    self.on_have(sim, to, i, chunk);
                }
            }
            BtTimer::Tick { node } => self.tick(sim, node),
            BtTimer::Watchdog => self.watchdog(sim),
        }
    }
}
