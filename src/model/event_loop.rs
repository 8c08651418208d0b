//! The event loop: running [`Sim`] until the end, and keeping every flow's
//! completion filed in the event queue in step with its rate (one queue entry per
//! uploader, keyed by the earliest of its flows' completion keys).

use super::*;

/// What the kernel keeps per node about its uploads: the queue entry that stands for
/// all of its flows' completions. Which flow that entry is for is the entry's tag
/// ([`EventQueue::peek_tag`]): the event loop reads it off the heap's top, so a
/// finished flow costs no load of the entry's payload or of this record before the
/// flow's own.
///
/// Per flow the kernel keeps the chunk and the key its completion event would have in
/// the queue ([`NO_KEY`] while its rate is zero) in the network's flow record (a
/// [`FlowNote`]): the same cache line as the rate it follows from. A node whose flows
/// form a processor-sharing group has one key for the group's next completion
/// instead (`Sim::group_keys`).
///
/// Why one entry per uploader and not per flow: a rate change at a node moves the
/// completion of every flow it sends, so with per-flow entries each change cost one
/// heap operation per flow. Each flow still draws its sequence number exactly when
/// its own event would have been (re)scheduled, and the node's entry carries the
/// smallest of those keys; since keys are distinct, the queue pops flows in exactly
/// the order per-flow events would have run.
#[derive(Clone, Copy, Default)]
pub(super) struct Uploader {
    event: Option<EventId>,
}

/// The key of a flow (or group) whose completion is not filed (its rate is zero);
/// above every real key.
pub(super) const NO_KEY: Key = (Time::MAX, u64::MAX);

/// What the kernel keeps in each flow's network record ([`crate::network::FlowPayload`]):
/// the chunk the flow carries and the key its completion event would have in the
/// queue (none while its rate is zero). Packed to a 4-byte alignment (20
/// bytes) so that it fits with the flow in one 64-byte record (checked below).
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
pub struct FlowNote {
    key: Key,
    chunk: u32,
}

const _: () = assert!(Network::<FlowNote>::RECORD_BYTES == 64);

impl FlowNote {
    /// The note of a new flow carrying chunk `chunk`: no completion filed yet.
    #[inline]
    pub(super) fn new(chunk: u32) -> FlowNote {
        FlowNote { key: NO_KEY, chunk }
    }

    /// The key the flow's completion is filed under ([`NO_KEY`] if none).
    #[inline]
    pub(super) fn key(&self) -> Key {
        self.key
    }

    /// The chunk the flow carries.
    #[inline]
    pub fn chunk(&self) -> u32 {
        self.chunk
    }
}

impl crate::network::FlowPayload for FlowNote {
    /// The group's key stands for the flow from now on.
    #[inline]
    fn grouped(&mut self) {
        self.key = NO_KEY;
    }
}

impl<'t, T> Sim<'t, T> {
    /// Puts flow `f`'s completion at the time its current rate gives (none if the
    /// rate is zero). A new key takes a fresh sequence number, as rescheduling the
    /// flow's own event would; its uploader's queue entry follows at the next
    /// [`Sim::sync_uploaders`]. For a grouped flow this moves its group's key
    /// instead (the group's next completion may have changed).
    #[inline]
    pub(super) fn move_completion(&mut self, f: FlowId) {
        if self.net.is_grouped(f) {
            return self.move_group_completion(f);
        }
        let at = self.net.completion_time(f);
        let note = self.net.payload_mut(f);
        match at {
            Some(at) => note.key = (at, self.queue.draw_seq()),
            None if note.key() != NO_KEY => note.key = NO_KEY,
            None => return,
        }
        let src = self.net.graph().endpoints(f).0;
        self.mark_dirty(src);
    }

    /// [`Sim::move_completion`] for a grouped flow.
    #[cold]
    #[inline(never)]
    fn move_group_completion(&mut self, f: FlowId) {
        let src = self.net.graph().endpoints(f).0;
        self.file_group(src);
        self.mark_dirty(src);
    }

    /// Files node `u`'s group's next completion under a fresh key, or [`NO_KEY`] if
    /// it has none.
    fn file_group(&mut self, u: NodeId) {
        self.group_keys[u as usize] = match self.net.group_completion(u) {
            Some(at) => (at, self.queue.draw_seq()),
            None => NO_KEY,
        };
    }

    /// Lets the network keep an uploader's flows in a processor-sharing group once
    /// it has `min_flows` of them ([`Network::set_processor_sharing`]).
    pub(super) fn enable_processor_sharing(&mut self, min_flows: Option<usize>) {
        self.net.set_processor_sharing(min_flows);
        self.group_keys = vec![NO_KEY; self.uploaders.len()];
    }

    /// The smallest completion key among node `n`'s outgoing flows (or its group's)
    /// and that flow, or `(NO_KEY, 0)` when none is filed. Keys are distinct, so the
    /// flow is unique.
    #[inline]
    fn earliest_completion(&self, n: NodeId) -> (Key, FlowId) {
        if self.net.has_group(n) {
            return match self.net.group_head(n) {
                Some(f) if self.group_keys[n as usize] != NO_KEY => {
                    (self.group_keys[n as usize], f)
                }
                _ => (NO_KEY, 0),
            };
        }
        let mut best = NO_KEY;
        let mut next = 0;
        for &f in &self.net.graph().out_flows[n as usize] {
            let k = self.net.payload(f).key();
            if k < best {
                best = k;
                next = f;
            }
        }
        (best, next)
    }

    pub(super) fn mark_dirty(&mut self, n: NodeId) {
        if !self.dirty_mark[n as usize] {
            self.dirty_mark[n as usize] = true;
            self.dirty.push(n);
        }
    }

    /// Brings the queue entry of every node whose flows' keys changed up to date: it
    /// takes the smallest key of the node's flows, or leaves the queue if none has
    /// one. Must run before the queue is next looked at.
    fn sync_uploaders(&mut self) {
        for &n in &self.dirty {
            self.dirty_mark[n as usize] = false;
            let (best, next) = self.earliest_completion(n);
            let u = &mut self.uploaders[n as usize];
            match (best != NO_KEY, u.event) {
                (true, Some(ev)) => {
                    let moved = self.queue.rekey_tagged(ev, best, next);
                    debug_assert!(moved, "an uploader's entry stays pending until cancelled");
                }
                (true, None) => {
                    u.event = Some(self.queue.schedule_tagged(best, next, Event::FlowDone(n)));
                }
                (false, Some(ev)) => {
                    self.queue.cancel(ev);
                    u.event = None;
                }
                (false, None) => {}
            }
        }
        self.dirty.clear();
    }

    /// Moves the completion events of the flows whose rates changed.
    fn sync_flows(&mut self) {
        let mut changed = std::mem::take(&mut self.scratch);
        changed.clear();
        changed.extend_from_slice(self.net.rebalance(self.now));
        for &f in &changed {
            self.move_completion(f);
        }
        self.scratch = changed;
        for i in 0..self.net.changed_groups().len() {
            let u = self.net.changed_groups()[i];
            if self.net.has_group(u) {
                self.file_group(u);
            }
            self.mark_dirty(u);
        }
    }

    fn sample(&mut self, protocol: &dyn Protocol<Timer = T>) {
        if let Some(p) = &self.progress {
            p.now_ns.store(self.now.0, Ordering::Relaxed);
            p.events.store(self.events, Ordering::Relaxed);
        }
        let leechers = self.n_present - self.n_seeds_present;
        let cap = self.up_present + self.net.graph().up[SERVER as usize];
        self.samples.push(Sample {
            time_s: self.now.as_secs_f64(),
            leechers,
            seeds: self.n_seeds_present,
            active_flows: self.net.active_flows() as u64,
            upload_utilisation: self.net.total_rate() / cap,
            rarest_copies: protocol.rarest_copies(self),
            mean_chunks_per_leecher: self.leecher_chunks as f64 / leechers as f64,
        });
    }

    /// Past [`MAX_SAMPLES`] rows, keeps every other row of the time series (the
    /// first, third, ...: samples `0, 2 d, 4 d, ...` of interval `d`, the newest
    /// among them as `MAX_SAMPLES` is even) and doubles the interval, so that the
    /// rows stay evenly spaced from the first to the newest.
    fn thin_samples(&mut self) {
        if self.samples.len() <= MAX_SAMPLES {
            return;
        }
        let mut k = 0;
        self.samples.retain(|_| {
            k += 1;
            k % 2 == 1
        });
        self.sample_interval = self
            .sample_interval
            .checked_add(self.sample_interval)
            .unwrap_or(Time::MAX);
    }

    /// The interval between the time series' rows now: the scenario's, doubled
    /// each time the series was thinned.
    pub fn sample_interval_s(&self) -> f64 {
        self.sample_interval.as_secs_f64()
    }

    /// Runs the event loop with `protocol` until every peer has the file, no event is
    /// left, or time passes `horizon`.
    pub fn run(&mut self, protocol: &mut dyn Protocol<Timer = T>, horizon: Time) -> RunStatus {
        let never = AtomicBool::new(false);
        self.run_cancellable(protocol, horizon, &never)
            .unwrap_or(RunStatus::Stalled)
    }

    /// As [`Sim::run`], but checks `cancel` before every event and returns `None` as
    /// soon as it is set (the run is then unfinished and its results meaningless).
    pub fn run_cancellable(
        &mut self,
        protocol: &mut dyn Protocol<Timer = T>,
        horizon: Time,
        cancel: &AtomicBool,
    ) -> Option<RunStatus> {
        Some(self.event_loop(protocol, horizon, cancel)).filter(|_| !cancel.load(Ordering::Relaxed))
    }

    fn event_loop(
        &mut self,
        protocol: &mut dyn Protocol<Timer = T>,
        horizon: Time,
        cancel: &AtomicBool,
    ) -> RunStatus {
        let n = self.peers.len() as u64;
        loop {
            self.sync_uploaders();
            let Some((at, tag)) = self.queue.peek_tag() else {
                break;
            };
            if self.completed == n || cancel.load(Ordering::Relaxed) {
                break;
            }
            if at > horizon {
                self.now = horizon;
                self.sample(protocol);
                return RunStatus::Horizon;
            }
            self.now = at;
            if tag != NO_TAG {
                // Only an uploader's entry carries a tag: the flow that finishes. The
                // entry stays in the queue: the node is marked dirty and the next sync
                // moves it to the node's next flow (one heap operation instead of a
                // pop and a push).
                debug_assert!(matches!(
                    self.queue.peek(),
                    Some((_, &Event::FlowDone(n), _)) if n == self.net.graph().flow(tag).src
                ));
                self.events += 1;
                let f = tag;
                self.prefetch_ahead(protocol);
                let size = self.net.graph().flow(f).size;
                let t = self.transfer(f);
                self.mark_dirty(t.src);
                let bytes = self.net.remove_flow(self.now, f);
                // The flow delivered its whole size: integer-nanosecond rounding can
                // leave a float residue, which is not a real byte.
                debug_assert!((bytes - size).abs() < 1e-3 * size.max(1.0));
                self.account(t, size);
                if self.trace.is_none() {
                    protocol.on_transfer_done(self, f, t);
                } else {
                    self.transfer_done_traced(protocol, f, t, size);
                }
            } else {
                let (_, ev) = self.queue.pop().expect("peeked");
                if matches!(ev, Event::Sample) {
                    self.sample(protocol);
                    self.thin_samples();
                    if let Some(next) = at.checked_add(self.sample_interval) {
                        self.queue.schedule(next, Event::Sample);
                    }
                    continue;
                }
                self.events += 1;
                match ev {
                    Event::Arrival(p) => {
                        self.arrive(p);
                        protocol.on_arrival(self, p)
                    }
                    Event::Timer(t) => protocol.on_timer(self, t),
                    Event::Sample | Event::FlowDone(_) => {
                        unreachable!("samples are handled above, flow entries are tagged")
                    }
                }
            }
            self.sync_flows();
            if self.halted.is_some() {
                self.sample(protocol);
                return RunStatus::Stalled;
            }
        }
        self.sample(protocol);
        if self.completed == n {
            RunStatus::Completed
        } else {
            RunStatus::Stalled
        }
    }
}
