//! The on-call core: who is on call when. Schedules are layers of rotations with
//! restrictions and overrides, rendered into shifts for any range in the schedule's time
//! zone ([`schedule`]); escalation policies say who is paged, in which order, and when
//! ([`escalation`]).
//!
//! Architecture invariant: no I/O, no clock, no randomness. Time arrives as arguments, so
//! every DST change and every escalation step is tested to the second.

pub mod escalation;
pub mod ical;
pub mod schedule;
