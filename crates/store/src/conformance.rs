//! Stories every backend must pass, run on SQLite and on PostgreSQL by each backend's
//! tests through [`conformance_suite!`](crate::conformance_suite).
//!
//! Each story takes a fresh, migrated, empty store. Timestamps are fixed: the store
//! never reads the clock, so nothing here depends on when it runs.

use domain::{AccessTarget, Kind, Labels, Name, Timestamp};
use serde_json::json;

use crate::*;
use paging::{Action, AlertBody, Severity};

mod auth;
mod grouping;
mod incidents;
mod objects;
mod oncall;
mod outbox;
mod plumbing;
mod text;
mod timers;
pub use auth::*;
pub use grouping::*;
pub use incidents::*;
pub use objects::*;
pub use oncall::*;
pub use outbox::*;
pub use plumbing::*;
pub use text::*;
pub use timers::*;

/// Generates one `#[tokio::test]` per story for a backend. `$factory` is an async fn
/// returning something that derefs to a fresh `dyn Store`.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_suite!(@stories $factory;
            objects_round_trip,
            commit_is_all_or_nothing,
            stale_versions_are_refused,
            lists_page_by_name_and_filter_by_labels,
            every_change_is_audited,
            tokens_are_found_by_hash_until_revoked_or_expired,
            sessions_expire,
            passwords_are_kept_per_user,
            each_email_belongs_to_one_user,
            failed_signins_make_the_next_attempt_wait_and_are_forgotten,
            events_without_an_object_are_audited,
            text_survives_byte_for_byte,
            references_are_kept_whole,
            lookup_keys_find_their_object_and_are_unique,
            events_open_repeat_acknowledge_and_resolve_alerts,
            identical_triggers_in_one_batch_open_one_incident,
            people_act_on_incidents,
            alerts_of_one_group_share_an_incident,
            alerts_are_listed_newest_first,
            changes_are_kept_per_service_in_time_order,
            incidents_merge_into_one,
            incidents_are_searched_sorted_counted_and_paged,
            a_group_takes_alerts_only_within_its_window,
            a_new_alert_retriggers_an_acknowledged_incident_unless_told_not_to,
            timers_are_claimed_with_fenced_leases,
            acknowledgements_time_out_and_snoozes_end_by_timer,
            timers_ingest_in_the_transaction_that_removes_them,
            held_alerts_open_no_incident_until_released,
            flapping_alerts_are_held_with_the_reason_on_the_timeline,
            people_snooze_escalate_and_reassign,
            schedule_overrides_are_kept_listed_by_range_and_removed,
            notifications_are_claimed_per_channel_and_recorded_once,
            outside_text_is_kept_cleaned_and_keys_with_nul_are_refused,
            a_providers_reply_with_nul_is_recorded_cleaned,
            server_secrets_are_resealed_under_one_recorded_key,
            leases_are_taken_renewed_and_handed_over_with_a_higher_fence,
            an_old_holder_is_refused_after_hand_over,
            a_commit_bumps_the_generations_of_its_kinds_only,
        );
    };
    (@stories $factory:path; $($story:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let store = $factory().await;
                $crate::conformance::$story(&*store).await;
            }
        )*
    };
}

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("valid test timestamp")
}

fn name(s: &str) -> Name {
    Name::new(s).expect("valid test name")
}

fn ctx(actor: &str, at: i64) -> WriteContext {
    WriteContext {
        actor: actor.to_owned(),
        at: t(at),
    }
}

fn draft(kind: Kind, n: &str, labels: Labels, spec: serde_json::Value) -> ObjectDraft {
    ObjectDraft {
        kind,
        name: name(n),
        labels,
        spec,
        source: None,
        references: Vec::new(),
        status: None,
        lookup_keys: Vec::new(),
    }
}

fn create(kind: Kind, n: &str, labels: Labels) -> Change {
    Change::Create {
        draft: draft(kind, n, labels, json!({ "owner_team": "core" })),
        scope: AccessTarget::default(),
    }
}

fn all(limit: u32) -> ListQuery {
    ListQuery {
        limit,
        ..ListQuery::default()
    }
}

fn event(action: Action, key: &str, dedup: &str, at: i64) -> IngestEvent {
    IngestEvent {
        service: name("api"),
        integration: name("prom"),
        routing_key: key.into(),
        action,
        dedup_key: dedup.into(),
        body: (action == Action::Trigger).then(|| AlertBody {
            summary: format!("{dedup} is down"),
            source: "prometheus".into(),
            severity: Severity::Critical,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            details: json!({"labels": {"job": "api"}}),
            links: Vec::new(),
            images: Vec::new(),
            client: None,
            client_url: None,
        }),
        group: None,
        group_window: None,
        retrigger_acknowledged: false,
        actor: None,
        urgency: None,
        received_at: t(at),
        handling: Handling::default(),
    }
}

fn incidents(limit: u32) -> IncidentQuery {
    IncidentQuery {
        limit,
        ..IncidentQuery::default()
    }
}

fn log_kinds(detail: &IncidentDetail) -> Vec<&str> {
    detail.log.iter().map(|l| l.kind.as_str()).collect()
}
