//! Timers and delayed messages: the protocol's timer kinds, their dispatch, and the
//! watchdog that ends a run in which nothing can move any more.

use super::{BitTorrent, NONE, Sim, node_of};

/// Timer kind: node `a` rechokes.
pub(super) const RECHOKE: u32 = 0;
/// Timer kind: node `a` announces to the tracker.
pub(super) const ANNOUNCE: u32 = 1;
/// Timer kind: node `a` leaves the swarm.
pub(super) const DEPART: u32 = 2;
/// Timer kind: the request of part `b` over connection `a` reaches the uploader
/// (`peer` is the downloader's peer index).
pub(super) const REQUEST: u32 = 3;
/// Timer kind: a HAVE of chunk `b` over connection `a` reaches node `peer`.
pub(super) const HAVE: u32 = 4;
/// Timer kind: the watchdog checks that something moved.
pub(super) const WATCHDOG: u32 = 5;

impl BitTorrent {
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
        let at = sim.after(self.watchdog_period());
        sim.set_timer(at, NONE, WATCHDOG, 0, 0);
    }

    /// Timer `kind` with arguments `peer`, `a` and `b` fired.
    pub(super) fn fire(&mut self, sim: &mut Sim, peer: u32, kind: u32, a: u32, b: u32) {
        match kind {
            RECHOKE => self.rechoke(sim, a),
            ANNOUNCE => {
                if self.present[a as usize] && !self.nodes[a as usize].complete {
                    self.announce(sim, a);
                } else {
                    self.nodes[a as usize].announce_at = None;
                }
            }
            DEPART => self.depart(sim, a),
            REQUEST => {
                let (conn, part) = (a, b);
                let dl = node_of(peer);
                let Some(k) = self.nodes[dl as usize]
                    .downloads
                    .iter()
                    .position(|p| p.flow == NONE && p.part == part && p.conn == conn)
                else {
                    return; // cancelled meanwhile (connection closed or chunk arrived)
                };
                let ul = self.other(conn, dl);
                let p = self.nodes[dl as usize].downloads[k];
                debug_assert_eq!(self.lk(dl, p.pos).conn, conn);
                if !self.lk(dl, p.pos).unchoked || self.has(dl, p.chunk) {
                    self.cancel_part(sim, dl, k, true);
                    self.retry_all(sim, dl);
                } else {
                    let f = sim.start_transfer_bytes(ul, dl, p.chunk, p.bytes);
                    self.nodes[dl as usize].downloads[k].flow = f;
                }
            }
            HAVE => {
                let (conn, c, to) = (a, b, peer);
                let k = &self.conns[conn as usize];
                // A HAVE outlives a closed connection; if the id was reused, the new
                // neighbour reacts only if it really has the chunk.
                let from = self.other(conn, to);
                if k.alive && k.ends.contains(&to) && self.has(from, c) {
                    let i = self.pos_of(conn, to);
                    self.on_have(sim, to, i, c);
                }
            }
            WATCHDOG => self.watchdog(sim),
            _ => unreachable!("unknown timer kind {kind}"),
        }
    }
}
