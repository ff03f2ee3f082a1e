//! Every reference a write takes (a team's members, a service's owner and policy, a
//! policy's targets, a schedule's people, a router's services, a window's services, an
//! override's person, a reassignment, a token's user, a new incident's service): an
//! object outside the caller's scope answers exactly as a name that does not exist, so
//! names in other companies cannot be probed.

use domain::{Grant, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::TestStore;
use test_support::app::TestApp;

test_support::on_both_backends!(
    a_reference_outside_the_callers_scope_answers_as_an_unknown_name,
    every_route_naming_an_object_outside_the_callers_scope_answers_as_for_an_unknown_one,
    references_an_object_already_holds_stay_when_it_is_edited,
);

const ORG: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ann, labels: {company: acme}}
spec: {full_name: Ann Acme, email: ann@acme.test, roles: [{role: admin, company: acme}]}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop, labels: {company: acme}}
spec: {members: [ann]}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: primary, labels: {company: acme}}
spec:
  time_zone: UTC
  layers: [{name: weekly, users: [ann], rotation: 1w, start: "2023-11-13T09:00"}]
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme}}
spec:
  owner_team: shop
  integrations: [{name: prom, type: pagerduty, key: acme-checkout-key-0001}]
---
apiVersion: shinrai/v1
kind: User
metadata: {name: gus, labels: {company: globex}}
spec: {full_name: Gus Globex, email: gus@globex.test}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: ads, labels: {company: globex}}
spec: {members: [gus]}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: ads-primary, labels: {company: globex}}
spec:
  time_zone: UTC
  layers: [{name: weekly, users: [gus], rotation: 1w, start: "2023-11-13T09:00"}]
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: ads-policy, labels: {company: globex}}
spec: {team: ads, levels: [{targets: [{schedule: ads-primary}], delay_minutes: 10}]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: bidder, labels: {company: globex}}
spec: {owner_team: ads, escalation_policy: ads-policy}
"#;

/// A name no object has.
const UNKNOWN: &str = "no-such-object";

/// One reference a write takes: how to make the request naming `name`, and an object of
/// another company that it could name.
struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    body: fn(&str) -> Value,
    /// An object of globex's.
    foreign: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "a team's member",
            method: Method::POST,
            path: "/api/v1/teams",
            body: |r| json!({"metadata": {"name": "t1", "labels": {"company": "acme"}}, "spec": {"members": [r]}}),
            foreign: "gus",
        },
        Case {
            what: "a service's owner team",
            method: Method::POST,
            path: "/api/v1/services",
            body: |r| json!({"metadata": {"name": "s1", "labels": {"company": "acme"}}, "spec": {"owner_team": r}}),
            foreign: "ads",
        },
        Case {
            what: "a service's escalation policy",
            method: Method::POST,
            path: "/api/v1/services",
            body: |r| json!({"metadata": {"name": "s2", "labels": {"company": "acme"}}, "spec": {"owner_team": "shop", "escalation_policy": r}}),
            foreign: "ads-policy",
        },
        Case {
            what: "a policy's user target",
            method: Method::POST,
            path: "/api/v1/escalation-policies",
            body: |r| json!({"metadata": {"name": "p1", "labels": {"company": "acme"}}, "spec": {"team": "shop", "levels": [{"targets": [{"user": r}], "delay_minutes": 5}]}}),
            foreign: "gus",
        },
        Case {
            what: "a policy's schedule target",
            method: Method::POST,
            path: "/api/v1/escalation-policies",
            body: |r| json!({"metadata": {"name": "p2", "labels": {"company": "acme"}}, "spec": {"team": "shop", "levels": [{"targets": [{"schedule": r}], "delay_minutes": 5}]}}),
            foreign: "ads-primary",
        },
        Case {
            what: "a schedule layer's user",
            method: Method::POST,
            path: "/api/v1/schedules",
            body: |r| json!({"metadata": {"name": "sc1", "labels": {"company": "acme"}}, "spec": {"time_zone": "UTC", "layers": [{"name": "w", "users": [r], "rotation": "1w", "start": "2023-11-13T09:00"}]}}),
            foreign: "gus",
        },
        Case {
            what: "a router's default service",
            method: Method::POST,
            path: "/api/v1/routers",
            body: |r| json!({"metadata": {"name": "r1", "labels": {"company": "acme"}}, "spec": {"team": "shop", "integrations": [{"name": "am", "type": "alertmanager"}], "rules": [], "default": r}}),
            foreign: "bidder",
        },
        Case {
            what: "a maintenance window's service",
            method: Method::POST,
            path: "/api/v1/maintenance-windows",
            body: |r| json!({"metadata": {"name": "m1", "labels": {"company": "acme"}}, "spec": {"services": [r], "start": "2023-11-15T23:00", "duration_minutes": 60}}),
            foreign: "bidder",
        },
        Case {
            what: "a user's team grant",
            method: Method::POST,
            path: "/api/v1/users",
            body: |r| json!({"metadata": {"name": "u1", "labels": {"company": "acme"}}, "spec": {"full_name": "U One", "email": "u1@acme.test", "roles": [{"role": "viewer", "team": r}]}}),
            foreign: "ads",
        },
        Case {
            what: "a schedule override's person",
            method: Method::POST,
            path: "/api/v1/schedules/primary/overrides",
            body: |r| json!({"user": r, "start": "2023-11-14T22:00:00Z", "end": "2023-11-14T23:00:00Z"}),
            foreign: "gus",
        },
        Case {
            what: "a reassignment's person",
            method: Method::POST,
            path: "/api/v1/incidents/1/reassign",
            body: |r| json!({"to": [r]}),
            foreign: "gus",
        },
        Case {
            what: "a token's user",
            method: Method::POST,
            path: "/api/v1/tokens",
            body: |r| json!({"name": "t-for-user", "role": "viewer", "user": r}),
            foreign: "gus",
        },
        Case {
            what: "a new incident's service",
            method: Method::POST,
            path: "/api/v1/incidents",
            body: |r| json!({"service": r, "summary": "by hand"}),
            foreign: "bidder",
        },
    ]
}

async fn app(store: TestStore) -> TestApp {
    let app = TestApp::start(store).await;
    app.apply("org.yaml", ORG).await;
    // Incident #1, on acme's service, for the reassignment.
    let resp = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(&json!({"routing_key": "acme-checkout-key-0001", "event_action": "trigger",
                      "payload": {"summary": "disk full", "source": "test", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    app
}

/// The answer with the name it was given replaced, so that two answers compare.
fn shape(body: &Value, name: &str) -> String {
    body.to_string().replace(name, "NAME")
}

async fn a_reference_outside_the_callers_scope_answers_as_an_unknown_name(store: TestStore) {
    let app = app(store).await;
    let acme = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let mut differ = Vec::new();
    for case in cases() {
        let (unknown_status, unknown) = app
            .call(
                case.method.clone(),
                case.path,
                Some(&acme),
                Some((case.body)(UNKNOWN)),
            )
            .await;
        assert!(
            unknown_status.is_client_error(),
            "{}: an unknown name is refused: {unknown_status} {unknown}",
            case.what
        );
        let (status, body) = app
            .call(
                case.method.clone(),
                case.path,
                Some(&acme),
                Some((case.body)(case.foreign)),
            )
            .await;
        if (status, shape(&body, case.foreign)) != (unknown_status, shape(&unknown, UNKNOWN)) {
            differ.push(format!(
                "{}: {} of another company answers {status} {body}, an unknown name {unknown_status} {unknown}",
                case.what, case.foreign
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    // The global SRE team may name anything.
    let sre = app
        .token("sre", vec![Grant::global(Role::Admin)], None)
        .await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/teams",
            Some(&sre),
            Some(json!({"metadata": {"name": "mixed"}, "spec": {"members": ["ann", "gus"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn references_an_object_already_holds_stay_when_it_is_edited(store: TestStore) {
    let app = app(store).await;
    // A global admin puts globex's gus into acme's team.
    let sre = app
        .token("sre", vec![Grant::global(Role::Admin)], None)
        .await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/teams",
            Some(&sre),
            Some(json!({"metadata": {"name": "mixed", "labels": {"company": "acme"}}, "spec": {"members": ["ann", "gus"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // acme's admin edits the team without seeing gus, and keeps him.
    let acme = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/teams/mixed",
            Some(&acme),
            Some(json!({"metadata": {"name": "mixed", "labels": {"company": "acme"}}, "spec": {"description": "shop and ads", "members": ["ann", "gus"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Deleting a user that another company's object names does not name that object.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/teams",
            Some(&sre),
            Some(json!({"metadata": {"name": "ads-friends", "labels": {"company": "globex"}}, "spec": {"members": ["gus", "ann"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&acme),
            Some(json!({"metadata": {"name": "amy", "labels": {"company": "acme"}}, "spec": {"full_name": "Amy", "email": "amy@acme.test"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/teams/ads-friends",
            Some(&sre),
            Some(json!({"metadata": {"name": "ads-friends", "labels": {"company": "globex"}}, "spec": {"members": ["gus", "amy"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call(Method::DELETE, "/api/v1/users/amy", Some(&acme), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "still_referenced");
    assert!(
        !body.to_string().contains("ads-friends"),
        "another company's team is not named: {body}"
    );
}

async fn every_route_naming_an_object_outside_the_callers_scope_answers_as_for_an_unknown_one(
    store: TestStore,
) {
    let app = app(store).await;
    let acme = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let foreign = [
        ("users", "gus"),
        ("teams", "ads"),
        ("services", "bidder"),
        ("schedules", "ads-primary"),
        ("escalation-policies", "ads-policy"),
    ];
    let mut differ = Vec::new();
    let mut checked = 0;
    for r in server::routes::all().list {
        for (plural, name) in foreign {
            let prefix = format!("/api/v1/{plural}/{{name}}");
            if !r.path.starts_with(&prefix) {
                continue;
            }
            let method = match r.method {
                server::routes::Method::Get => Method::GET,
                server::routes::Method::Post => Method::POST,
                server::routes::Method::Put => Method::PUT,
                server::routes::Method::Delete => Method::DELETE,
            };
            let body = |n: &str| {
                if r.path.ends_with("/password") {
                    json!({"password": "long enough password"})
                } else {
                    json!({"metadata": {"name": n}, "spec": {}})
                }
            };
            let path = |n: &str| {
                r.path
                    .replace("{name}", n)
                    .replace("{integration}", "prom")
                    .replace("{id}", "1")
            };
            let (unknown_status, unknown) = app
                .call(
                    method.clone(),
                    &path(UNKNOWN),
                    Some(&acme),
                    Some(body(UNKNOWN)),
                )
                .await;
            let (status, got) = app
                .call(method.clone(), &path(name), Some(&acme), Some(body(name)))
                .await;
            checked += 1;
            if (status, shape(&got, name)) != (unknown_status, shape(&unknown, UNKNOWN)) {
                differ.push(format!(
                    "{method} {}: {status} {got}, for an unknown name {unknown_status} {unknown}",
                    path(name)
                ));
            }
        }
    }
    assert!(checked >= 20, "only {checked} routes checked");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
