//! The store conformance suite on PostgreSQL, each story in a fresh database copied from
//! a migrated template (see `test_support::postgres_store`).

store::conformance_suite!(test_support::postgres_store);
