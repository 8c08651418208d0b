//! The bounds as text for people: every term of `D_cs` and `D_p2p` with its value,
//! the binding one marked, and what applies when peers arrive over time.

use crate::bounds::{Term, binding};
use crate::model::Summary;
use crate::scenario::Scenario;
use crate::scenario::units::fmt_secs;

fn line(t: &mut String, k: &str, v: String) {
    t.push_str(&format!("{k:<14}{v}\n"));
}

fn term_lines(t: &mut String, terms: &[Term]) {
    let b = binding(terms);
    for (i, x) in terms.iter().enumerate() {
        t.push_str(&format!(
            "  {:<22}{}{}\n",
            x.formula,
            fmt_secs(x.value),
            if i == b { "  <- binds" } else { "" }
        ));
    }
}

/// `D_cs bound` and `D_p2p bound`, each followed by its terms (the binding one
/// marked `<- binds`).
pub fn bound_lines(s: &Scenario) -> String {
    let b = s.bounds();
    let (cs, p2p) = s.bound_terms();
    let mut t = String::new();
    line(&mut t, "D_cs bound", fmt_secs(b.d_cs));
    term_lines(&mut t, &cs);
    line(&mut t, "D_p2p bound", fmt_secs(b.d_p2p));
    term_lines(&mut t, &p2p);
    t
}

/// For a run whose peers arrived over time: that the flash-crowd bounds do not
/// apply, the mean of the per-peer lower bounds and the Qiu & Srikant prediction
/// where it applies. Empty for a flash crowd.
pub fn arrival_lines(m: &Summary) -> String {
    let mut t = String::new();
    if m.arrivals != "spread" {
        return t;
    }
    line(
        &mut t,
        "arrivals",
        "over time: D_cs and D_p2p assume every peer present at the first arrival \
         and do not bound this run"
            .into(),
    );
    line(
        &mut t,
        "peer bound",
        if m.mean_peer_bound_s.is_nan() {
            "none: no peer completed".into()
        } else {
            format!(
                "{} (mean over completed peers of max(F/d_i, F/(u_s + sum_(j!=i) u_j), \
                 t_0 + F/u_s - a_i))",
                fmt_secs(m.mean_peer_bound_s)
            )
        },
    );
    if !m.qiu_srikant_s.is_nan() {
        line(
            &mut t,
            "Qiu-Srikant",
            format!(
                "{} (steady-state mean download, max(F/d, F/u - mean seeding); a prediction, not a bound)",
                fmt_secs(m.qiu_srikant_s)
            ),
        );
    }
    t
}
