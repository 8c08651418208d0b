//! The lower bounds of [`crate::bounds`] applied to a checked scenario.

use super::{Arrival, ProtocolKind, Scenario, Seeding};
use crate::bounds::{Bounds, Term, d_cs, d_cs_terms, d_p2p, d_p2p_terms, qiu_srikant};

impl Scenario {
    /// Both bounds for the scenario (all peers counted, all capacities in bytes/s).
    pub fn bounds(&self) -> Bounds {
        let s = self;
        let n = s.peers() as f64;
        let f = s.file_bytes as f64;
        Bounds {
            d_cs: d_cs(n, f, s.server_upload, s.min_download()),
            d_p2p: d_p2p(n, f, s.server_upload, s.min_download(), s.sum_peer_upload()),
        }
    }

    /// The terms of both bounds for the scenario: `(D_cs terms, D_p2p terms)`.
    pub fn bound_terms(&self) -> ([Term; 2], [Term; 3]) {
        let s = self;
        let n = s.peers() as f64;
        let f = s.file_bytes as f64;
        (
            d_cs_terms(n, f, s.server_upload, s.min_download()),
            d_p2p_terms(n, f, s.server_upload, s.min_download(), s.sum_peer_upload()),
        )
    }

    /// The Qiu & Srikant prediction for the scenario where its assumptions hold (one
    /// class, BitTorrent, Poisson arrivals, exponential seeding, a positive
    /// prediction), else `None`.
    pub fn qiu_srikant(&self) -> Option<f64> {
        let s = self;
        let [c] = s.classes.as_slice() else {
            return None;
        };
        if s.protocol != ProtocolKind::BitTorrent || c.upload <= 0.0 {
            return None;
        }
        match (&c.arrival, c.seeding) {
            (Arrival::Poisson { .. }, Seeding::Exponential(mean)) => {
                let t = qiu_srikant(s.file_bytes as f64, c.upload, c.download, mean);
                (t > 0.0 && t.is_finite()).then_some(t)
            }
            _ => None,
        }
    }
}
