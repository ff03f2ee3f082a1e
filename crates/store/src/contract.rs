//! How the storage contract is written down: each capability's sub-trait is declared once,
//! through [`store_trait!`](crate::store_trait), and every wrapper around a store (the
//! metrics layer, the fault-injecting test store) implements all of them through
//! [`forward_store!`](crate::forward_store) without repeating a signature.
//!
//! API boundary: adding a sub-trait is one module that declares it with `store_trait!`,
//! one supertrait of [`Store`](crate::Store) and one line in `forward_store!`.

/// Names the forwarding code sees: everything the store's signatures use, so a wrapper
/// in another crate needs no imports of its own.
#[doc(hidden)]
pub mod __scope {
    pub use crate::*;
    pub use ::domain;
    pub use ::domain::{AccessTarget, Kind, Name, Timestamp};
    pub use std::time::Duration;
}

#[doc(hidden)]
pub use async_trait::async_trait as __async_trait;

/// Declares a store sub-trait (object-safe, through `async_trait`) and, beside it, a
/// hidden macro named after `as` that hands the method list to
/// [`forward_store!`](crate::forward_store). Each method takes `&self`; `async fn`s are
/// forwarded through the wrapper's hook, plain `fn`s straight to the inner store.
#[macro_export]
macro_rules! store_trait {
    (
        $(#[$meta:meta])*
        pub trait $name:ident $(: $first:ident $(+ $sup:ident)*)? as $list:ident {
            $($body:tt)*
        }
    ) => {
        $(#[$meta])*
        #[$crate::contract::__async_trait]
        pub trait $name: $($first + $($sup +)*)? Send + Sync + 'static {
            $($body)*
        }
        $crate::store_trait! { @list ($) $name $list { $($body)* } }
    };
    (@list ($d:tt) $name:ident $list:ident { $($body:tt)* }) => {
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $list {
            ($d($d args:tt)*) => {
                $crate::__forward_trait! { [$d($d args)*] $name [] $($body)* }
            };
        }
    };
}

/// Implements every store trait for a wrapper type by forwarding each call to the store
/// in one of its fields: `forward_store!(Wrapper, inner, hook)`. `hook` is a macro
/// (`macro_rules! hook { ($this:ident, $method:ident, ($($arg:ident),*), $call:expr) => ... }`)
/// that turns each async call into its result: `$call` is the inner store's future, the
/// method's name and arguments are there to time it or fail it.
#[macro_export]
macro_rules! forward_store {
    ($ty:ty, $inner:ident, $hook:ident) => {
        $crate::__store_methods! { $ty, $inner, $hook }
        $crate::__object_store_methods! { $ty, $inner, $hook }
        $crate::__auth_store_methods! { $ty, $inner, $hook }
        $crate::__incident_store_methods! { $ty, $inner, $hook }
        $crate::__outbox_store_methods! { $ty, $inner, $hook }
        $crate::__oncall_store_methods! { $ty, $inner, $hook }
        $crate::__timer_store_methods! { $ty, $inner, $hook }
        $crate::__lease_store_methods! { $ty, $inner, $hook }
        $crate::__change_store_methods! { $ty, $inner, $hook }
    };
}

/// Builds one forwarding impl, method by method, then hands the whole impl to
/// `async_trait` at once (it must see the `async fn`s themselves).
#[doc(hidden)]
#[macro_export]
macro_rules! __forward_trait {
    ([$ty:ty, $inner:ident, $hook:ident] $name:ident [$($done:tt)*]) => {
        const _: () = {
            use $crate::contract::__scope::*;
            #[$crate::contract::__async_trait]
            impl $name for $ty {
                $($done)*
            }
        };
    };
    (
        [$ty:ty, $inner:ident, $hook:ident] $name:ident [$($done:tt)*]
        $(#[$m:meta])*
        async fn $f:ident(&self $(, $a:ident : $t:ty)* $(,)?) -> $r:ty;
        $($rest:tt)*
    ) => {
        $crate::__forward_trait! {
            [$ty, $inner, $hook] $name [
                $($done)*
                async fn $f(&self $(, $a: $t)*) -> $r {
                    $hook!(self, $f, ($($a),*), self.$inner.$f($($a),*))
                }
            ]
            $($rest)*
        }
    };
    (
        [$ty:ty, $inner:ident, $hook:ident] $name:ident [$($done:tt)*]
        $(#[$m:meta])*
        fn $f:ident(&self $(, $a:ident : $t:ty)* $(,)?) -> $r:ty;
        $($rest:tt)*
    ) => {
        $crate::__forward_trait! {
            [$ty, $inner, $hook] $name [
                $($done)*
                fn $f(&self $(, $a: $t)*) -> $r {
                    self.$inner.$f($($a),*)
                }
            ]
            $($rest)*
        }
    };
}
