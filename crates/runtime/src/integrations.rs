//! What shinrai generates for a service's integrations: a key for each one that has none,
//! kept once made. Keys live in the object's `status` (so they never show in a plan) and
//! as lookup keys in the store (so an event's key finds its service).

use domain::{Integration, Kind};
use serde_json::{Map, Value, json};
use store::ObjectDraft;

/// Length of a generated key: 32 hex characters, the shape of a PagerDuty routing key.
pub const GENERATED_KEY_LEN: usize = 32;

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
    let mut keys = Vec::new();
    for i in &declared {
        let kept = previous
            .and_then(|p| p["integrations"][i.name.as_str()]["key"].as_str())
            .map(str::to_owned);
        let key = i
            .key
            .clone()
            .or(kept)
            .unwrap_or_else(|| crate::entropy::secret("")[..GENERATED_KEY_LEN].to_owned());
        integrations.insert(
            i.name.to_string(),
            json!({ "type": i.kind.as_str(), "key": key }),
        );
        keys.push(key);
    }
    draft.status = Some(if integrations.is_empty() {
        json!({})
    } else {
        json!({ "integrations": integrations })
    });
    draft.lookup_keys = keys;
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
}
