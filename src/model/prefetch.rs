//! Prefetch hints: what the kernel asks the processor to bring into the cache ahead
//! of which event. Hints only: nothing here changes a result.
//!
//! At each finished transfer the event loop runs a software pipeline over the next
//! events in the queue ([`crate::engine::EventQueue::upcoming_tags`]):
//!
//! | event ahead | what is fetched |
//! |---|---|
//! | the fourth | its flow's network record |
//! | the third | its endpoints' flow lists and peer records, and the protocol's records for the pair ([`Protocol::prefetch`] with `deep` false) |
//! | the second | what those records lead to ([`Protocol::prefetch`] with `deep` true) |
//!
//! BitTorrent's part of the policy ([`bittorrent`]) is here too; the protocol and
//! the network only offer accessors to their records.

use super::{BitTorrent, Protocol, SERVER, Sim, peer_of};
use crate::engine::{NO_TAG, prefetch};
use crate::network::NodeId;

impl<'t, T> Sim<'t, T> {
    /// Issues the hints for the events after the current flow completion (see the
    /// module docs).
    #[inline]
    pub(super) fn prefetch_ahead(&self, protocol: &dyn Protocol<Timer = T>) {
        let [t2, t3, t4] = self.queue.upcoming_tags();
        let g = self.net.graph();
        if t4 != NO_TAG {
            g.prefetch_record(t4);
        }
        if t3 != NO_TAG
            && let Some((s3, d3)) = g.try_endpoints(t3)
        {
            prefetch(&g.out_flows[s3 as usize]);
            prefetch(&g.in_flows[d3 as usize]);
            prefetch(&self.peers[peer_of(d3) as usize]);
            if s3 != SERVER {
                prefetch(&self.peers[peer_of(s3) as usize]);
            }
            protocol.prefetch(s3, d3, false);
        }
        if t2 != NO_TAG
            && let Some((s2, d2)) = g.try_endpoints(t2)
        {
            protocol.prefetch(s2, d2, true);
        }
    }
}

/// BitTorrent's hints for a transfer from `src` to `dst` that probably finishes
/// soon: two events ahead (`deep` false) the receiver's node record, its block and
/// have row and the sender's block; one event ahead (`deep` true) the receiver's
/// first download and the link row of its block, which the first records point to.
#[inline]
pub(super) fn bittorrent(bt: &BitTorrent, src: NodeId, dst: NodeId, deep: bool) {
    if deep {
        if let Some(p) = bt.first_download(dst) {
            prefetch(p);
        }
        if let Some(l) = bt.block_link_row(dst) {
            prefetch(l);
        }
    } else {
        prefetch(bt.node_record(dst));
        prefetch(bt.block_entry(dst));
        prefetch(bt.have_row_start(dst));
        prefetch(bt.block_entry(src));
    }
}
