//! The future-event queue.
//!
//! Total order: events run in order of time, then of sequence number, where the
//! sequence number is taken from a counter each time an event is scheduled or
//! rescheduled. So equal-time events run first-in first-out, and a rescheduled event
//! counts as inserted at the moment it was rescheduled. Nothing else (no hash order, no
//! float tie) ever decides which event runs next.
//!
//! A caller may also take a sequence number itself ([`EventQueue::draw_seq`]) and
//! place an event under an explicit [`Key`] ([`EventQueue::schedule_keyed`],
//! [`EventQueue::rekey`]). This lets one pending event stand for several logical
//! ones (the kernel keeps one entry per uploading node, keyed by the earliest of its
//! flows' keys) without changing the total order: every logical event still gets its
//! sequence number at the moment it would have been scheduled on its own.

use super::Time;

/// A handle to a scheduled event, used to cancel or reschedule it. Handles of events
/// that have already run or been cancelled are detected and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId {
    slot: u32,
    generation: u32,
}

/// An event's place in the total order: its time, then its sequence number.
pub type Key = (Time, u64);

/// A key as one 128-bit number with the same order: the sifts compare keys at every
/// level, and one wide comparison compiles to fewer instructions and branches than
/// the lexicographic tuple comparison.
#[inline]
fn rank(k: Key) -> u128 {
    (u128::from(k.0.0) << 64) | u128::from(k.1)
}

/// Marks a slot that is not in the heap.
const NOT_QUEUED: u32 = u32::MAX;

/// A future-event queue of events of type `E`, ordered by (time, sequence number).
///
/// An indexed binary heap: the heap holds `(time, seq, slot)` entries and every slot
/// knows its heap position, so reschedule and cancel are O(log n) with no hashing and
/// no allocation once the queue has reached its largest size.
pub struct EventQueue<E> {
    heap: Vec<Entry>,
    /// Heap position and generation of each slot. Apart from the payloads because
    /// the sifts write one position per level and every handle is checked against
    /// its generation: a dense array of 8-byte entries keeps both in few cache
    /// lines, and rescheduling an event never loads its payload.
    index: Vec<Place>,
    /// The payloads, by slot (`None` for a free slot).
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

#[derive(Clone, Copy)]
struct Entry {
    key: Key,
    slot: u32,
    tag: u32,
}

/// The tag of an event scheduled without one (see [`EventQueue::schedule_tagged`]).
pub const NO_TAG: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Place {
    pos: u32,
    generation: u32,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: Vec::new(),
            index: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Schedules `event` at time `at` and returns its handle.
    pub fn schedule(&mut self, at: Time, event: E) -> EventId {
        let seq = self.draw_seq();
        self.schedule_keyed((at, seq), event)
    }

    /// Takes the next sequence number, as scheduling an event would. The caller owns
    /// it and may use it once, in [`EventQueue::schedule_keyed`] or
    /// [`EventQueue::rekey`].
    pub fn draw_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Schedules `event` under an explicit key, drawing no sequence number. Its
    /// sequence number must come from [`EventQueue::draw_seq`] and be used by no
    /// other pending event, so that keys stay distinct and the order total.
    pub fn schedule_keyed(&mut self, key: Key, event: E) -> EventId {
        self.schedule_tagged(key, NO_TAG, event)
    }

    /// As [`EventQueue::schedule_keyed`], with a tag: a 32-bit number kept in the
    /// event's heap entry beside its key, which [`EventQueue::peek_tag`] returns
    /// without reading the payload (the payload lives in a slot elsewhere: a cache
    /// miss in a large queue). `tag` must not be [`NO_TAG`].
    pub fn schedule_tagged(&mut self, key: Key, tag: u32, event: E) -> EventId {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(event);
                s
            }
            None => {
                self.slots.push(Some(event));
                self.index.push(Place {
                    pos: NOT_QUEUED,
                    generation: 0,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let id = EventId {
            slot,
            generation: self.index[slot as usize].generation,
        };
        let pos = self.heap.len();
        self.heap.push(Entry { key, slot, tag });
        self.index[slot as usize].pos = pos as u32;
        self.sift_up(pos);
        id
    }

    /// The heap position of a pending event, or `None` for a stale handle.
    fn position(&self, id: EventId) -> Option<usize> {
        let p = self.index.get(id.slot as usize)?;
        (p.generation == id.generation && p.pos != NOT_QUEUED).then_some(p.pos as usize)
    }

    /// Moves a pending event to time `at`; returns false if the event is no longer
    /// pending. It is ordered as if scheduled now (a fresh sequence number).
    pub fn reschedule(&mut self, id: EventId, at: Time) -> bool {
        let Some(pos) = self.position(id) else {
            return false;
        };
        let key = (at, self.draw_seq());
        self.set_key(pos, key);
        true
    }

    /// Moves a pending event to an explicit key (see [`EventQueue::schedule_keyed`]),
    /// drawing no sequence number; returns false if the event is no longer pending.
    pub fn rekey(&mut self, id: EventId, key: Key) -> bool {
        let Some(pos) = self.position(id) else {
            return false;
        };
        self.set_key(pos, key);
        true
    }

    /// As [`EventQueue::rekey`], and replaces the event's tag (see
    /// [`EventQueue::schedule_tagged`]).
    pub fn rekey_tagged(&mut self, id: EventId, key: Key, tag: u32) -> bool {
        let Some(pos) = self.position(id) else {
            return false;
        };
        self.heap[pos].tag = tag;
        self.set_key(pos, key);
        true
    }

    fn set_key(&mut self, pos: usize, key: Key) {
        let old = self.heap[pos].key;
        // An unchanged key (an uploader whose earliest flow kept its key while
        // another flow's moved) needs no sift.
        if rank(key) == rank(old) {
            return;
        }
        self.heap[pos].key = key;
        if rank(key) < rank(old) {
            self.sift_up(pos);
        } else {
            self.sift_down(pos);
        }
    }

    /// Removes a pending event and returns it, or `None` if it is no longer pending.
    pub fn cancel(&mut self, id: EventId) -> Option<E> {
        let pos = self.position(id)?;
        self.remove_at(pos);
        Some(self.release(id.slot))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.first().map(|e| e.key.0)
    }

    /// The time and tag of the next event in the total order ([`NO_TAG`] if it was
    /// scheduled without one), read from the heap alone.
    #[inline]
    pub fn peek_tag(&self) -> Option<(Time, u32)> {
        self.heap.first().map(|e| (e.key.0, e.tag))
    }

    /// The next event in the total order, its time and its handle, left in place
    /// (the caller may then [`EventQueue::rekey`] or cancel it instead of popping).
    pub fn peek(&self) -> Option<(Time, &E, EventId)> {
        let top = self.heap.first()?;
        let payload = self.slots[top.slot as usize]
            .as_ref()
            .expect("a pending event has its payload");
        let id = EventId {
            slot: top.slot,
            generation: self.index[top.slot as usize].generation,
        };
        Some((top.key.0, payload, id))
    }

    /// The tags of (probably) the second, third and fourth events in the total
    /// order ([`NO_TAG`] where there is none or it has no tag): the heap's second
    /// and third levels sorted, which holds the second and third events and
    /// usually the fourth. What the next events will be if nothing is scheduled
    /// before them meanwhile; a hint for prefetching, never for the order.
    #[inline]
    pub fn upcoming_tags(&self) -> [u32; 3] {
        // A tournament on the heap's order instead of a sort: the smallest of
        // entries 1 and 2 is the second event; the third is the smallest of the
        // loser and the winner's children; the fourth the smallest of what is left
        // on those levels (the third's children, if it is a child itself, are on
        // the fourth level, which the hint does not read). An entry past the end
        // ranks last with no tag.
        let h = &self.heap;
        let at = |i: usize| {
            h.get(i)
                .map_or((u128::MAX, NO_TAG), |e| (rank(e.key), e.tag))
        };
        let min = |x: (u128, u32), y: (u128, u32)| if y.0 < x.0 { y } else { x };
        let (x1, x2) = (at(1), at(2));
        let (second, other, w) = if x1.0 <= x2.0 {
            (x1, x2, 1)
        } else {
            (x2, x1, 2)
        };
        let (c1, c2) = (at(2 * w + 1), at(2 * w + 2));
        let fourth;
        let third = if other.0 < c1.0.min(c2.0) {
            let o = 3 - w;
            fourth = min(min(c1, c2), min(at(2 * o + 1), at(2 * o + 2)));
            other
        } else if c1.0 < c2.0 {
            fourth = min(other, c2);
            c1
        } else {
            fourth = min(other, c1);
            c2
        };
        [second.1, third.1, fourth.1]
    }

    /// Removes and returns the next event in the total order.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let top = *self.heap.first()?;
        self.remove_at(0);
        Some((top.key.0, self.release(top.slot)))
    }

    /// The time at which a pending event is scheduled.
    pub fn time_of(&self, id: EventId) -> Option<Time> {
        self.position(id).map(|p| self.heap[p].key.0)
    }

    /// Takes the entry at `pos` out of the heap.
    fn remove_at(&mut self, pos: usize) {
        let last = self.heap.len() - 1;
        let removed = self.heap[pos].slot;
        self.index[removed as usize].pos = NOT_QUEUED;
        if pos == last {
            self.heap.pop();
            return;
        }
        let moved = self.heap[last];
        self.heap.pop();
        let old = self.heap[pos].key;
        self.heap[pos] = moved;
        self.index[moved.slot as usize].pos = pos as u32;
        if moved.key < old {
            self.sift_up(pos);
        } else {
            self.sift_down(pos);
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        let e = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            let p = self.heap[parent];
            if rank(p.key) <= rank(e.key) {
                break;
            }
            self.heap[pos] = p;
            self.index[p.slot as usize].pos = pos as u32;
            pos = parent;
        }
        self.heap[pos] = e;
        self.index[e.slot as usize].pos = pos as u32;
    }

    fn sift_down(&mut self, mut pos: usize) {
        let e = self.heap[pos];
        let n = self.heap.len();
        loop {
            let l = 2 * pos + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && rank(self.heap[r].key) < rank(self.heap[l].key) {
                r
            } else {
                l
            };
            let ce = self.heap[c];
            if rank(e.key) <= rank(ce.key) {
                break;
            }
            self.heap[pos] = ce;
            self.index[ce.slot as usize].pos = pos as u32;
            pos = c;
        }
        self.heap[pos] = e;
        self.index[e.slot as usize].pos = pos as u32;
    }

    fn release(&mut self, slot: u32) -> E {
        let p = &mut self.index[slot as usize];
        p.generation = p.generation.wrapping_add(1);
        p.pos = NOT_QUEUED;
        self.free.push(slot);
        self.slots[slot as usize]
            .take()
            .expect("a pending event always has its payload")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_run_first_in_first_out() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.schedule(Time(5), i);
        }
        q.schedule(Time(1), 1000);
        assert_eq!(q.pop(), Some((Time(1), 1000)));
        for i in 0..100 {
            assert_eq!(q.pop(), Some((Time(5), i)));
        }
        assert!(q.pop().is_none());
    }

    /// `upcoming_tags` against a sorted reference: after each pop, the second and
    /// third events of the order (in a binary heap they sit on its second and third
    /// levels) are exactly what it returns; the fourth it returns is the true
    /// fourth or a later event, never an earlier one (a hint may miss, but it
    /// never names an event that comes sooner).
    #[test]
    fn upcoming_tags_are_the_next_events() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u32)> = Vec::new();
        for tag in 0..500u32 {
            let t = rng.random_range(0..1000u64);
            let seq = q.draw_seq();
            q.schedule_tagged((Time(t), seq), tag, ());
            reference.push((t, tag));
        }
        // Ties in time run in scheduling order, which is tag order here.
        reference.sort();
        for k in 0..reference.len() {
            let [a, b, c] = q.upcoming_tags();
            let rest = &reference[k..];
            let want = |i: usize| rest.get(i).map_or(NO_TAG, |e| e.1);
            assert_eq!((a, b), (want(1), want(2)), "after {k} pops");
            if rest.len() >= 4 {
                let at = rest.iter().position(|e| e.1 == c).expect("a pending tag");
                assert!(
                    at >= 3,
                    "the fourth hint is no earlier than the fourth event"
                );
            } else {
                assert_eq!(c, NO_TAG);
            }
            q.pop();
        }
        assert_eq!(q.upcoming_tags(), [NO_TAG; 3]);
    }

    /// `upcoming_tags` is the three smallest of heap entries 1 to 6 (its second
    /// and third levels) in order: checked against sorting those entries, after
    /// each of a random mix of schedules, pops and cancels, from an empty heap up
    /// to a few hundred entries (so every short heap, with fewer than seven
    /// entries, is among the cases).
    #[test]
    fn upcoming_tags_sort_the_second_and_third_levels() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let mut q = EventQueue::new();
        let mut ids = Vec::new();
        for step in 0..5000u32 {
            match rng.random_range(0..10) {
                0..=5 => {
                    let seq = q.draw_seq();
                    let t = Time(rng.random_range(0..50u64));
                    ids.push(q.schedule_tagged((t, seq), step, ()));
                }
                6..=8 => {
                    q.pop();
                }
                _ => {
                    if !ids.is_empty() {
                        let id = ids.swap_remove(rng.random_range(0..ids.len()));
                        q.cancel(id);
                    }
                }
            }
            let mut levels: Vec<(u128, u32)> = q
                .heap
                .iter()
                .take(7)
                .skip(1)
                .map(|e| (rank(e.key), e.tag))
                .collect();
            levels.sort();
            let want = |i: usize| levels.get(i).map_or(NO_TAG, |e| e.1);
            assert_eq!(
                q.upcoming_tags(),
                [want(0), want(1), want(2)],
                "step {step}"
            );
        }
    }

    #[test]
    fn reschedule_and_cancel() {
        let mut q = EventQueue::new();
        let a = q.schedule(Time(10), 'a');
        let b = q.schedule(Time(20), 'b');
        let c = q.schedule(Time(30), 'c');
        assert!(q.reschedule(c, Time(5)));
        assert_eq!(q.cancel(a), Some('a'));
        assert_eq!(
            q.cancel(a),
            None,
            "a cancelled event cannot be cancelled twice"
        );
        // Rescheduled to the same time as b, after b was scheduled: runs after b.
        let d = q.schedule(Time(20), 'd');
        assert!(q.reschedule(b, Time(20)));
        assert_eq!(q.pop(), Some((Time(5), 'c')));
        assert_eq!(q.pop(), Some((Time(20), 'd')));
        assert_eq!(q.pop(), Some((Time(20), 'b')));
        assert!(!q.reschedule(d, Time(1)), "d already ran");
        // A reused slot does not revive a stale handle.
        let e = q.schedule(Time(1), 'e');
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.time_of(e), Some(Time(1)));
    }

    proptest::proptest! {
        /// Against a reference model (a sorted list keyed by (time, sequence number),
        /// the queue's documented total order): any mix of schedule, reschedule,
        /// cancel and pop gives the same events in the same order.
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec((0u8..6, 0u64..50, 0usize..64), 1..300)) {
            let mut q = EventQueue::new();
            let mut reference: std::collections::BTreeMap<(Time, u64), usize> = Default::default();
            let mut handles: Vec<(EventId, usize)> = Vec::new();
            let mut seq = 0u64;
            for (k, (op, t, pick)) in ops.into_iter().enumerate() {
                match op {
                    0 | 1 => {
                        let id = q.schedule(Time(t), k);
                        reference.insert((Time(t), seq), k);
                        seq += 1;
                        handles.push((id, k));
                    }
                    4 => {
                        // Explicit keys with drawn sequence numbers order like schedule.
                        let seq_drawn = q.draw_seq();
                        proptest::prop_assert_eq!(seq_drawn, seq);
                        let id = q.schedule_keyed((Time(t), seq_drawn), k);
                        reference.insert((Time(t), seq), k);
                        seq += 1;
                        handles.push((id, k));
                    }
                    2 | 5 if !handles.is_empty() => {
                        let (id, payload) = handles[pick % handles.len()];
                        let key = reference.iter().find(|(_, v)| **v == payload).map(|(k, _)| *k);
                        let moved = if op == 2 {
                            q.reschedule(id, Time(t))
                        } else {
                            let s = q.draw_seq();
                            q.rekey(id, (Time(t), s))
                        };
                        proptest::prop_assert_eq!(moved, key.is_some());
                        if let Some(key) = key {
                            reference.remove(&key);
                            reference.insert((Time(t), seq), payload);
                        }
                        // A stale reschedule draws no sequence number; a rekey's was
                        // drawn before the handle was checked.
                        if key.is_some() || op == 5 {
                            seq += 1;
                        }
                    }
                    3 if !handles.is_empty() => {
                        let (id, payload) = handles[pick % handles.len()];
                        let key = reference.iter().find(|(_, v)| **v == payload).map(|(k, _)| *k);
                        proptest::prop_assert_eq!(q.cancel(id), key.map(|_| payload));
                        if let Some(key) = key {
                            reference.remove(&key);
                        }
                    }
                    _ => {
                        let want = reference.pop_first().map(|((t, _), v)| (t, v));
                        proptest::prop_assert_eq!(q.pop(), want);
                    }
                }
                proptest::prop_assert_eq!(q.len(), reference.len());
                proptest::prop_assert_eq!(q.peek_time(), reference.keys().next().map(|k| k.0));
                proptest::prop_assert_eq!(
                    q.peek().map(|(t, &v, _)| (t, v)),
                    reference.iter().next().map(|(k, &v)| (k.0, v))
                );
            }
        }
    }
}
