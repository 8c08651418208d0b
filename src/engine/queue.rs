//! The future-event queue.
//!
//! Total order: events run in order of time, then of sequence number, where the
//! sequence number is taken from a counter each time an event is scheduled or
//! rescheduled. So equal-time events run first-in first-out, and a rescheduled event
//! counts as inserted at the moment it was rescheduled. Nothing else (no hash order, no
//! float tie) ever decides which event runs next.

use super::Time;
use priority_queue::PriorityQueue;
use rustc_hash::FxBuildHasher;
use std::cmp::Reverse;

/// A handle to a scheduled event, used to cancel or reschedule it. Handles of events
/// that have already run or been cancelled are detected and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId {
    slot: u32,
    generation: u32,
}

/// A future-event queue of events of type `E`, ordered by (time, sequence number).
pub struct EventQueue<E> {
    heap: PriorityQueue<EventId, Reverse<(Time, u64)>, FxBuildHasher>,
    slots: Vec<Slot<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

struct Slot<E> {
    generation: u32,
    payload: Option<E>,
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
            heap: PriorityQueue::with_hasher(FxBuildHasher),
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
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize].payload = Some(event);
                s
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    payload: Some(event),
                });
                (self.slots.len() - 1) as u32
            }
        };
        let id = EventId {
            slot,
            generation: self.slots[slot as usize].generation,
        };
        let seq = self.bump_seq();
        self.heap.push(id, Reverse((at, seq)));
        id
    }

    /// Moves a pending event to time `at`; returns false if the event is no longer
    /// pending. It is ordered as if scheduled now (a fresh sequence number).
    pub fn reschedule(&mut self, id: EventId, at: Time) -> bool {
        let seq = self.bump_seq();
        self.heap.change_priority(&id, Reverse((at, seq))).is_some()
    }

    /// Removes a pending event and returns it, or `None` if it is no longer pending.
    pub fn cancel(&mut self, id: EventId) -> Option<E> {
        self.heap.remove(&id)?;
        Some(self.release(id))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|(_, p)| p.0.0)
    }

    /// Removes and returns the next event in the total order.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let (id, Reverse((at, _))) = self.heap.pop()?;
        Some((at, self.release(id)))
    }

    /// The time at which a pending event is scheduled.
    pub fn time_of(&self, id: EventId) -> Option<Time> {
        self.heap.get_priority(&id).map(|p| p.0.0)
    }

    fn bump_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    fn release(&mut self, id: EventId) -> E {
        let slot = &mut self.slots[id.slot as usize];
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(id.slot);
        slot.payload
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
}
