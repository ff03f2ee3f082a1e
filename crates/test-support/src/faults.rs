//! A store that fails where a test says, for drills of what shinrai does when one write
//! fails: everything else goes to the real store underneath.

use std::sync::Arc;

use store::{Delivery, Store};

/// Whether recording this outcome of the notification with this id fails.
pub type RefuseOutcome = Box<dyn Fn(i64, &Delivery) -> bool + Send + Sync>;

/// Wraps a store; recording a notification's outcome fails whenever `refuse_outcome`
/// says so (given the notification's id and the outcome) (a provider's reply the store cannot keep, say).
pub struct Faulty {
    pub inner: Arc<dyn Store>,
    pub refuse_outcome: RefuseOutcome,
}

/// Refuses an outcome `refuse_outcome` names; every other call goes to the inner store
/// unchanged (the hook [`store::forward_store!`] runs around every async method).
macro_rules! inject {
    ($this:ident, finish_notification, ($id:ident, $fence:ident, $outcome:ident, $now:ident), $call:expr) => {{
        if ($this.refuse_outcome)($id, &$outcome) {
            return Err(store::StoreError::Unavailable(format!(
                "a fault injected by the test refuses {:?}",
                $outcome
            )));
        }
        $call.await
    }};
    ($this:ident, $method:ident, $args:tt, $call:expr) => {
        $call.await
    };
}

store::forward_store!(Faulty, inner, inject);
