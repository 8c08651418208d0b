//! The kernel's services to protocols: the constructor, transfers, timers, the
//! trace and the per-peer metrics ([`Sim`]'s methods outside the event loop).

use super::*;

impl<'t, T> Sim<'t, T> {
    /// A kernel for the scenario: nodes with their capacities and the peers'
    /// arrivals (drawn from the simulation's RNG, class by class, in file order).
    pub fn new(s: &Scenario) -> Sim<'t, T> {
        let n = s.peers() as usize;
        let mut rng = rng_from_seed(s.seed);
        let mut up = Vec::with_capacity(n + 1);
        let mut down = Vec::with_capacity(n + 1);
        // The share of the upload limits left to payload (BitTorrent's
        // `rate_limit_overhead`; 1 otherwise).
        let share = match s.protocol {
            crate::scenario::ProtocolKind::BitTorrent => s.bittorrent.payload_share(),
            _ => 1.0,
        };
        up.push(s.server_upload * share);
        down.push(f64::INFINITY);
        let mut peers = Vec::with_capacity(n);
        for (ci, c) in s.classes.iter().enumerate() {
            let times = arrival_times(&c.arrival, c.count, &mut rng);
            for t in times {
                up.push(c.upload * share);
                down.push(c.download);
                peers.push(PeerRecord::new(ci as u32, t));
            }
        }
        let net = Network::new(up, down, s.network.build(n + 1));
        let mut queue = EventQueue::new();
        for (p, rec) in peers.iter().enumerate() {
            queue.schedule(rec.arrival, Event::Arrival(p as u32));
        }
        let mut arrivals: Vec<Time> = peers.iter().map(|r| r.arrival).collect();
        arrivals.sort_unstable();
        let sample_interval = Time::from_secs_ceil(s.sample_interval).unwrap_or(Time::MAX);
        queue.schedule(Time::ZERO, Event::Sample);
        Sim {
            progress: None,
            now: Time::ZERO,
            rng,
            peers,
            chunk_bytes: s.chunk_bytes,
            file_bytes: s.file_bytes,
            chunks: s.chunks() as u32,
            queue,
            net,
            uploaders: vec![Uploader::default(); n + 1],
            group_keys: Vec::new(),
            dirty: Vec::new(),
            dirty_mark: vec![false; n + 1],
            scratch: Vec::new(),
            events: 0,
            completed: 0,
            present: vec![false; n],
            chunks_held: vec![0; n],
            n_present: 0,
            n_seeds_present: 0,
            up_present: 0.0,
            leecher_chunks: 0,
            sample_interval,
            max_peer_uploads: 0,
            halted: None,
            n_arrived: 0,
            arrivals,
            cap_seconds: 0.0,
            cap_since: Time::ZERO,
            trace: None,
            samples: Vec::new(),
        }
    }

    /// Sends the run's trace to `sink` from now on: every chunk that arrives and
    /// every choke change a protocol reports ([`Sim::trace_choke`]).
    pub fn attach_trace(&mut self, sink: &'t mut dyn TraceSink) {
        self.trace = Some(trace::Tracer::new(sink));
    }

    /// Reports to the trace, if one is attached, that `node` now unchokes
    /// (`unchoked`) or chokes `neighbour`, by its optimistic unchoke or a regular one.
    #[inline]
    pub fn trace_choke(
        &mut self,
        node: NodeId,
        neighbour: NodeId,
        unchoked: bool,
        optimistic: bool,
    ) {
        if self.trace.is_some() {
            let action = if unchoked {
                ChokeAction::Unchoked
            } else {
                ChokeAction::Choked
            };
            self.emit_choke(node, neighbour, action, optimistic);
        }
    }

    /// Reports to the trace, if one is attached, that `node` goes on unchoking
    /// `neighbour` but now as its optimistic unchoke (`optimistic`) or a regular one.
    #[inline]
    pub fn trace_choke_kind(&mut self, node: NodeId, neighbour: NodeId, optimistic: bool) {
        if self.trace.is_some() {
            self.emit_choke(node, neighbour, ChokeAction::Changed, optimistic);
        }
    }

    /// [`Sim::trace_choke`]'s work, kept out of line so that a run without a trace
    /// pays only the test.
    #[cold]
    #[inline(never)]
    fn emit_choke(
        &mut self,
        node: NodeId,
        neighbour: NodeId,
        action: ChokeAction,
        optimistic: bool,
    ) {
        if let Some(tr) = &mut self.trace {
            tr.sink.choke(&ChokeChange {
                time: self.now,
                node,
                neighbour,
                action,
                optimistic,
            });
        }
    }

    /// Reports to the trace, if one is attached, that the connection from `node` to
    /// `neighbour` closes: a choke if `node` was unchoking it (`unchoking`).
    #[inline]
    pub fn trace_choke_closed(
        &mut self,
        node: NodeId,
        neighbour: NodeId,
        unchoking: bool,
        optimistic: bool,
    ) {
        if unchoking {
            self.trace_choke(node, neighbour, false, optimistic);
        }
    }

    /// Size in bytes of chunk `c`.
    pub fn chunk_size(&self, c: u32) -> u64 {
        let start = c as u64 * self.chunk_bytes;
        (self.file_bytes - start).min(self.chunk_bytes)
    }

    /// The network (capacities, flows, rates).
    pub fn network(&self) -> &Network<FlowNote> {
        &self.net
    }

    /// Starts transferring chunk `chunk` from `src` to `dst`.
    pub fn start_transfer(&mut self, src: NodeId, dst: NodeId, chunk: u32) -> FlowId {
        let bytes = self.chunk_size(chunk) as f64;
        self.start_transfer_bytes(src, dst, chunk, bytes)
    }

    /// Starts transferring the last `bytes` bytes of chunk `chunk` (the rest of a
    /// partly received chunk) from `src` to `dst`.
    #[inline]
    pub fn start_transfer_bytes(
        &mut self,
        src: NodeId,
        dst: NodeId,
        chunk: u32,
        bytes: f64,
    ) -> FlowId {
        let id = self
            .net
            .add_flow_with(self.now, src, dst, bytes, FlowNote::new(chunk));
        if self.trace.is_some() {
            self.note_start(id);
        }
        if src != SERVER {
            let up = self.net.uploads(src) as u32;
            self.max_peer_uploads = self.max_peer_uploads.max(up);
        }
        id
    }

    /// Notes for the trace that flow `id` starts now (out of line: see
    /// [`Sim::emit_choke`]).
    #[cold]
    #[inline(never)]
    fn note_start(&mut self, id: FlowId) {
        if let Some(tr) = &mut self.trace {
            tr.started(id, self.now);
        }
    }

    /// Cancels a transfer in progress and returns the bytes it delivered, which are
    /// counted as downloaded and uploaded, and also as wasted if `wasted`.
    pub fn cancel_transfer(&mut self, id: FlowId, wasted: bool) -> f64 {
        let t = self.transfer(id);
        let had_key = self.net.payload(id).key() != NO_KEY;
        let delivered = self.net.remove_flow(self.now, id);
        if had_key {
            self.mark_dirty(t.src);
        }
        self.account(t, delivered);
        if wasted {
            self.peers[peer_of(t.dst) as usize].bytes_wasted += delivered;
        }
        delivered
    }

    /// Counts `bytes` already delivered to node `dst` as wasted (duplicates found
    /// after the fact, e.g. when two endgame copies of the same bytes were both
    /// under way).
    pub fn add_waste(&mut self, dst: NodeId, bytes: f64) {
        if bytes > 0.0 {
            self.peers[peer_of(dst) as usize].bytes_wasted += bytes;
        }
    }

    /// Stops the run after the current event: nothing can progress any more.
    pub fn halt(&mut self, why: String) {
        self.halted = Some(why);
    }

    /// Why the run was halted, if it was.
    pub fn halt_reason(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// Number of peers that have arrived so far.
    pub fn arrived(&self) -> u64 {
        self.n_arrived
    }

    /// When the next peer arrives (`None` once all have).
    pub fn next_arrival(&self) -> Option<Time> {
        self.arrivals.get(self.n_arrived as usize).copied()
    }

    /// Number of peers present without the whole file.
    pub fn leechers_present(&self) -> u64 {
        self.n_present - self.n_seeds_present
    }

    /// Shrinks a transfer in progress so that only `left` bytes remain to deliver
    /// (another transfer takes over the rest) and moves its completion event.
    pub fn shrink_transfer(&mut self, id: FlowId, left: f64) {
        self.net.shrink_flow(self.now, id, left);
        self.move_completion(id);
    }

    /// Lengthens a transfer in progress by `extra` bytes (a request appended to
    /// the stream being served); its rate is unchanged.
    pub fn grow_transfer(&mut self, id: FlowId, extra: f64) {
        self.net.grow_flow(self.now, id, extra);
        self.move_completion(id);
    }

    /// Largest number of simultaneous uploads any peer (not the server) had.
    pub fn max_peer_uploads(&self) -> u32 {
        self.max_peer_uploads
    }

    /// Records that peer `p` now holds one more chunk (for the metrics).
    #[inline]
    pub fn record_chunk(&mut self, p: u32) {
        self.chunks_held[p as usize] += 1;
        if self.present[p as usize] && self.peers[p as usize].completion.is_none() {
            self.leecher_chunks += 1;
        }
        let rec = &mut self.peers[p as usize];
        if rec.first_chunk.is_none() {
            rec.first_chunk = Some(self.now);
        }
    }

    /// Marks peer `p` complete at the current time.
    pub fn complete(&mut self, p: u32) {
        let rec = &mut self.peers[p as usize];
        debug_assert!(rec.completion.is_none());
        rec.completion = Some(self.now);
        self.completed += 1;
        if self.present[p as usize] {
            self.n_seeds_present += 1;
            self.leecher_chunks -= self.chunks_held[p as usize] as u64;
        }
    }

    /// Marks peer `p` present (called by the kernel on arrival).
    pub(super) fn arrive(&mut self, p: u32) {
        self.accrue_capacity();
        self.present[p as usize] = true;
        self.n_present += 1;
        self.n_arrived += 1;
        self.up_present += self.net.graph().up[node_of(p) as usize];
    }

    /// Peer `p` leaves the swarm now. The protocol must have cancelled its transfers.
    pub fn depart(&mut self, p: u32) {
        if !self.present[p as usize] {
            return;
        }
        self.accrue_capacity();
        self.present[p as usize] = false;
        self.n_present -= 1;
        self.up_present -= self.net.graph().up[node_of(p) as usize];
        if self.peers[p as usize].completion.is_some() {
            self.n_seeds_present -= 1;
        } else {
            self.leecher_chunks -= self.chunks_held[p as usize] as u64;
        }
        self.peers[p as usize].departure = Some(self.now);
    }

    /// Adds the upload capacity present since the last change to the integral. The
    /// server counts from the first arrival on.
    fn accrue_capacity(&mut self) {
        if self.n_arrived > 0 {
            let cap = self.up_present + self.net.graph().up[SERVER as usize];
            self.cap_seconds += cap * self.now.secs_since(self.cap_since);
        }
        self.cap_since = self.now;
    }

    /// Mean upload utilisation from the first arrival to now: bytes delivered over
    /// the integral of the upload capacity of the nodes present.
    pub fn upload_utilisation(&mut self) -> f64 {
        self.accrue_capacity();
        let bytes: f64 = self.peers.iter().map(|p| p.bytes_downloaded).sum();
        bytes / self.cap_seconds
    }

    /// True while peer `p` is in the swarm.
    pub fn is_present(&self, p: u32) -> bool {
        self.present[p as usize]
    }

    /// Sets a timer (or a delayed message) for the protocol at time `at`.
    pub fn set_timer(&mut self, at: Time, timer: T) -> EventId {
        self.queue.schedule(at, Event::Timer(timer))
    }

    /// `now + seconds`, saturating at the end of virtual time.
    pub fn after(&self, seconds: f64) -> Time {
        let d = Time::from_secs_ceil(seconds).unwrap_or(Time::MAX);
        self.now.checked_add(d).unwrap_or(Time::MAX)
    }

    /// The transfer a flow carries (also of a finished or cancelled flow, until its id
    /// is reused by a new transfer).
    pub fn transfer(&self, f: FlowId) -> Transfer {
        let g = self.net.graph();
        // The record outlives the flow: read it without the liveness check of
        // `FlowGraph::flow`.
        let (src, dst) = g.endpoints(f);
        Transfer {
            src,
            dst,
            chunk: self.net.payload(f).chunk(),
        }
    }

    /// Cancels a timer; returns false if it already fired.
    pub fn cancel_timer(&mut self, id: EventId) -> bool {
        self.queue.cancel(id).is_some()
    }

    /// Number of peers that have completed the file.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    pub(super) fn account(&mut self, t: Transfer, bytes: f64) {
        let d = &mut self.peers[peer_of(t.dst) as usize];
        d.bytes_downloaded += bytes;
        if t.src == SERVER {
            d.bytes_from_server += bytes;
        } else {
            d.bytes_from_peers += bytes;
            self.peers[peer_of(t.src) as usize].bytes_uploaded += bytes;
        }
    }

    /// [`Protocol::on_transfer_done`] with a trace attached: if the protocol counted
    /// a chunk for the receiver ([`Sim::record_chunk`]), this transfer completed it
    /// (every protocol counts a chunk only in the call for the transfer that
    /// brought its last bytes), and the arrival goes to the trace.
    #[cold]
    #[inline(never)]
    pub(super) fn transfer_done_traced(
        &mut self,
        protocol: &mut dyn Protocol<Timer = T>,
        f: FlowId,
        t: Transfer,
        size: f64,
    ) {
        let p = peer_of(t.dst);
        let before = self.chunks_held[p as usize];
        // (Read now: the protocol may reuse the id `f` for a new transfer.)
        let began = self.trace.as_ref().map_or(self.now, |tr| tr.start_of(f));
        protocol.on_transfer_done(self, f, t);
        if self.chunks_held[p as usize] != before
            && let Some(tr) = &mut self.trace
        {
            debug_assert_eq!(self.chunks_held[p as usize], before + 1);
            let a = ChunkArrival {
                time: self.now,
                peer: p,
                chunk: t.chunk,
                sender: t.src,
                bytes: size,
                started: began,
            };
            tr.sink.chunk(&a);
        }
    }
}

/// Draws the arrival times of a class's `count` peers.
fn arrival_times(a: &Arrival, count: u64, rng: &mut SimRng) -> Vec<Time> {
    let secs: Vec<f64> = match a {
        Arrival::Flash => vec![0.0; count as usize],
        Arrival::Times(t) => t.clone(),
        Arrival::Poisson { rate, start } => {
            let exp = Exp::new(*rate).expect("rate checked positive");
            let mut t = *start;
            (0..count)
                .map(|_| {
                    t += exp.sample(rng);
                    t
                })
                .collect()
        }
    };
    secs.into_iter()
        .map(|x| Time::from_secs_ceil(x).unwrap_or(Time::MAX))
        .collect()
}
