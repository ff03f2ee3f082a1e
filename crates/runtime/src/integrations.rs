//! What shinrai generates for a service's (or a router's) integrations: a key for each one
//! that has none, kept once made, and rotated on request. Keys live in the object's
//! `status` (so they never show in a plan) and as lookup keys in the store (so an event's
//! key finds its service).
//!
//! A rotated integration keeps its previous key beside the new one (`previous_key`, with
//! `rotated_at`): senders still using it are accepted until `rotated_at` plus the overlap
//! the server is configured with ([`accepts`]), and answered as an unknown key after.
//!
//! Keys are secrets: whoever holds one can trigger, acknowledge and resolve through the
//! integration endpoints. [`hide_keys`] removes them from what is shown to anyone who may
//! not manage the object.

use domain::{Integration, Kind, Name, Timestamp};
use serde_json::{Map, Value, json};
use store::{ObjectDraft, ObjectRecord};

/// Length of a generated key: 32 hex characters, the shape of a PagerDuty routing key.
pub const GENERATED_KEY_LEN: usize = 32;

/// How long a rotated-out key keeps working unless the server is told otherwise.
pub const DEFAULT_OVERLAP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

fn generated_key() -> String {
    crate::entropy::secret("")[..GENERATED_KEY_LEN].to_owned()
}

/// Completes a draft before it is written: for a service or a router, sets its `status` and lookup
/// keys from its integrations, keeping keys `previous` (the stored status) already had.
/// Other kinds are left as they are.
pub fn complete(draft: &mut ObjectDraft, previous: Option<&Value>) {
    if !matches!(draft.kind, Kind::Service | Kind::Router) {
        return;
    }
    // Drafts reach here validated; a spec that does not parse carries no integrations.
    let declared = draft
        .spec
        .get("integrations")
        .cloned()
        .unwrap_or(Value::Null);
    let declared: Vec<Integration> = serde_json::from_value(declared).unwrap_or_default();
    let mut integrations = Map::new();
    for i in &declared {
        let stored = previous.map(|p| &p["integrations"][i.name.as_str()]);
        let kept = stored.and_then(|s| s["key"].as_str()).map(str::to_owned);
        let key = i
            .key
            .clone()
            .or_else(|| kept.clone())
            .unwrap_or_else(generated_key);
        let mut entry = json!({ "type": i.kind.as_str(), "key": key });
        // A rotation's overlap survives later edits that keep the key.
        if kept.as_deref() == Some(key.as_str())
            && let Some(s) = stored
        {
            for field in ["previous_key", "rotated_at"] {
                if let Some(v) = s.get(field) {
                    entry[field] = v.clone();
                }
            }
        }
        integrations.insert(i.name.to_string(), entry);
    }
    let status = if integrations.is_empty() {
        json!({})
    } else {
        json!({ "integrations": integrations })
    };
    draft.lookup_keys = lookup_keys(&status);
    draft.status = Some(status);
}

/// Every key that finds the object: each integration's key, and a rotated-out key until
/// it is replaced (whether it is still accepted is decided per event, by [`accepts`]).
fn lookup_keys(status: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(all) = status["integrations"].as_object() {
        for entry in all.values() {
            for field in ["key", "previous_key"] {
                if let Some(k) = entry[field].as_str() {
                    keys.push(k.to_owned());
                }
            }
        }
    }
    keys
}

/// Why a key cannot be rotated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotateError {
    #[error("{kind} {name} has no integration named {integration}")]
    NoSuchIntegration {
        kind: Kind,
        name: Name,
        integration: String,
    },
    #[error(
        "the key of integration {integration} is set in {kind} {name}'s spec; change it there (shinrai generates and rotates only keys it made)"
    )]
    Declared {
        kind: Kind,
        name: Name,
        integration: String,
    },
}

/// The object with a new key for one integration, the old one kept as `previous_key`
/// (accepted until `now` plus the overlap) and any older one dropped.
pub fn rotate(
    record: &ObjectRecord,
    integration: &str,
    now: Timestamp,
) -> Result<ObjectDraft, RotateError> {
    let entry = record.status["integrations"].get(integration);
    let Some(old) = entry.and_then(|e| e["key"].as_str()) else {
        return Err(RotateError::NoSuchIntegration {
            kind: record.kind,
            name: record.name.clone(),
            integration: integration.to_owned(),
        });
    };
    let declared = record.spec["integrations"].as_array().is_some_and(|all| {
        all.iter()
            .any(|i| i["name"].as_str() == Some(integration) && i.get("key").is_some())
    });
    if declared {
        return Err(RotateError::Declared {
            kind: record.kind,
            name: record.name.clone(),
            integration: integration.to_owned(),
        });
    }
    let mut status = record.status.clone();
    status["integrations"][integration] = json!({
        "type": entry.map_or(Value::Null, |e| e["type"].clone()),
        "key": generated_key(),
        "previous_key": old,
        "rotated_at": now.to_string(),
    });
    Ok(ObjectDraft {
        kind: record.kind,
        name: record.name.clone(),
        labels: record.labels.clone(),
        spec: record.spec.clone(),
        source: record.source.clone(),
        references: config::Spec::from_value(record.kind, record.spec.clone())
            .map(|s| s.targets())
            .unwrap_or_default(),
        lookup_keys: lookup_keys(&status),
        status: Some(status),
    })
}

/// Whether an integration (its `status` entry) takes `key` at `now`: its key always, its
/// previous key until `overlap` after the rotation.
pub fn accepts(entry: &Value, key: &str, now: Timestamp, overlap: std::time::Duration) -> bool {
    if entry["key"].as_str() == Some(key) {
        return true;
    }
    if entry["previous_key"].as_str() != Some(key) {
        return false;
    }
    let Some(rotated_at) = entry["rotated_at"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
    else {
        return false;
    };
    let overlap = jiff::SignedDuration::try_from(overlap).unwrap_or(jiff::SignedDuration::MAX);
    rotated_at
        .checked_add(overlap)
        .is_ok_and(|until| now < until)
}

/// Removes every integration key from an object's spec and status, for those who may not
/// manage it: a key lets its holder act on the object's incidents.
pub fn hide_keys(spec: &mut Value, status: &mut Value) {
    if let Some(all) = status
        .get_mut("integrations")
        .and_then(Value::as_object_mut)
    {
        for entry in all.values_mut() {
            if let Some(e) = entry.as_object_mut() {
                e.remove("key");
                e.remove("previous_key");
            }
        }
    }
    if let Some(all) = spec.get_mut("integrations").and_then(Value::as_array_mut) {
        for entry in all {
            if let Some(e) = entry.as_object_mut() {
                e.remove("key");
            }
        }
    }
}

/// What stands for a key in what is shown to those who may not see it.
pub const MASK: &str = "••••••••";

/// Where an integration's sender posts, to paste into the sender: the URL of its type's
/// endpoint under `public_url` (the server's public base), and for PagerDuty's Events API
/// the `routing_key` sent in the body. `key` is `None` for those who may not see it: the
/// key's place then shows [`MASK`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendTo {
    pub url: String,
    /// The `routing_key` to send (PagerDuty's Events API), when the key is not in the URL.
    pub routing_key: Option<String>,
}

/// Where an integration of type `kind` is sent to; see [`SendTo`].
pub fn send_to(public_url: &str, kind: &str, key: Option<&str>) -> SendTo {
    let base = public_url.trim_end_matches('/');
    let key = key.unwrap_or(MASK);
    match kind {
        "pagerduty" => SendTo {
            url: format!("{base}/v2/enqueue"),
            routing_key: Some(key.to_owned()),
        },
        kind => SendTo {
            url: format!("{base}/integrations/{kind}/{key}"),
            routing_key: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Labels, Name};

    fn draft(spec: Value) -> ObjectDraft {
        ObjectDraft {
            kind: Kind::Service,
            name: Name::new("api").unwrap(),
            labels: Labels::new(),
            spec,
            source: None,
            references: Vec::new(),
            status: None,
            lookup_keys: Vec::new(),
        }
    }

    #[test]
    fn send_to_is_the_endpoint_under_the_public_url_with_the_key_or_its_mask() {
        assert_eq!(
            send_to("https://shinrai.example/", "datadog", Some("k1")),
            SendTo {
                url: "https://shinrai.example/integrations/datadog/k1".into(),
                routing_key: None
            }
        );
        assert_eq!(
            send_to("https://shinrai.example", "heartbeat", None).url,
            format!("https://shinrai.example/integrations/heartbeat/{MASK}")
        );
        assert_eq!(
            send_to("https://shinrai.example", "pagerduty", Some("k2")),
            SendTo {
                url: "https://shinrai.example/v2/enqueue".into(),
                routing_key: Some("k2".into())
            }
        );
    }

    #[test]
    fn keys_are_generated_once_and_kept() {
        let spec = json!({"owner_team": "core", "integrations": [
            {"name": "prom", "type": "pagerduty"},
            {"name": "legacy", "type": "pagerduty", "key": "a-key-senders-have-1"}
        ]});
        let mut first = draft(spec.clone());
        complete(&mut first, None);
        let status = first.status.clone().unwrap();
        let generated = status["integrations"]["prom"]["key"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(generated.len(), GENERATED_KEY_LEN);
        assert_eq!(
            status["integrations"]["legacy"]["key"],
            "a-key-senders-have-1"
        );
        assert_eq!(
            first.lookup_keys,
            vec![generated.clone(), "a-key-senders-have-1".to_owned()]
        );

        let mut again = draft(spec);
        complete(&mut again, Some(&status));
        assert_eq!(
            again.status,
            Some(status),
            "an unchanged service keeps its keys"
        );

        // Removing an integration drops its key; others stay.
        let mut fewer = draft(
            json!({"owner_team": "core", "integrations": [{"name": "prom", "type": "pagerduty"}]}),
        );
        complete(&mut fewer, first.status.as_ref());
        assert_eq!(fewer.lookup_keys, vec![generated]);
    }

    #[test]
    fn other_kinds_are_left_alone() {
        let mut team = draft(json!({}));
        team.kind = Kind::Team;
        complete(&mut team, None);
        assert_eq!(team.status, None);
        assert!(team.lookup_keys.is_empty());
    }

    fn record(status: Value, spec: Value) -> ObjectRecord {
        ObjectRecord {
            kind: Kind::Service,
            name: Name::new("api").unwrap(),
            labels: Labels::new(),
            spec,
            status,
            source: None,
            version: 1,
            created_at: t(0),
            updated_at: t(0),
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn a_rotated_key_is_accepted_until_the_overlap_ends() {
        let spec =
            json!({"owner_team": "core", "integrations": [{"name": "prom", "type": "pagerduty"}]});
        let mut first = draft(spec.clone());
        complete(&mut first, None);
        let old = first.status.as_ref().unwrap()["integrations"]["prom"]["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let rotated = rotate(
            &record(first.status.clone().unwrap(), spec.clone()),
            "prom",
            t(0),
        )
        .unwrap();
        let entry = rotated.status.as_ref().unwrap()["integrations"]["prom"].clone();
        let new = entry["key"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert_eq!(rotated.lookup_keys, vec![new.clone(), old.clone()]);
        let day = std::time::Duration::from_secs(24 * 3600);
        assert!(accepts(&entry, &new, t(0), day));
        assert!(accepts(&entry, &old, t(24 * 3600 - 1), day));
        assert!(!accepts(&entry, &old, t(24 * 3600), day));
        assert!(accepts(&entry, &new, t(48 * 3600), day));
        assert!(!accepts(&entry, "something-else", t(0), day));

        // An edit that keeps the key keeps the overlap.
        let mut edited = draft(spec.clone());
        complete(&mut edited, rotated.status.as_ref());
        assert_eq!(edited.status, rotated.status);
        assert_eq!(edited.lookup_keys, rotated.lookup_keys);
    }

    #[test]
    fn only_generated_keys_of_existing_integrations_rotate() {
        let spec = json!({"owner_team": "core", "integrations": [
            {"name": "legacy", "type": "pagerduty", "key": "a-key-senders-have-1"}
        ]});
        let mut d = draft(spec.clone());
        complete(&mut d, None);
        let r = record(d.status.unwrap(), spec);
        assert!(matches!(
            rotate(&r, "legacy", t(0)),
            Err(RotateError::Declared { .. })
        ));
        assert!(matches!(
            rotate(&r, "nope", t(0)),
            Err(RotateError::NoSuchIntegration { .. })
        ));
    }

    #[test]
    fn hidden_keys_leave_the_rest() {
        let mut spec = json!({"owner_team": "core", "integrations": [
            {"name": "legacy", "type": "pagerduty", "key": "a-key-senders-have-1"}
        ]});
        let mut status = json!({"integrations": {"legacy": {"type": "pagerduty", "key": "k1", "previous_key": "k0", "rotated_at": "2026-01-01T00:00:00Z"}}});
        hide_keys(&mut spec, &mut status);
        assert_eq!(
            spec["integrations"][0],
            json!({"name": "legacy", "type": "pagerduty"})
        );
        assert_eq!(
            status["integrations"]["legacy"],
            json!({"type": "pagerduty", "rotated_at": "2026-01-01T00:00:00Z"})
        );
    }
}
