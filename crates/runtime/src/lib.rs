//! shinrai's drivers: the clock, entropy, the instrumented store, and the background
//! workers that act on the store.
//!
//! Architecture invariant: this is the one home of the wall clock ([`clock`]) and of the
//! operating system's random source ([`entropy`]). Everything else receives time and
//! randomness from here, which `clippy.toml` enforces.

pub mod apply;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod egress;
pub mod entropy;
pub mod events;
pub mod ingest;
pub mod instrumented;
pub mod integrations;
pub mod lease;
pub mod links;
pub mod net;
pub mod notify;
pub mod oncall;
pub mod ratelimit;
pub mod sealed;
pub mod supervisor;
pub mod timers;
pub mod wake;
pub mod workers;

pub use clock::{Clock, ManualClock, SystemClock};
pub use instrumented::InstrumentedStore;
