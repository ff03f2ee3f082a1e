//! Parsing and validation: every problem, at the right line, in one pass.

use config::{SourceFile, parse};

/// Parses `files` (`(path, content)`) and renders what came out: one line per problem,
/// then one line per document.
fn check(files: &[(&str, &str)]) -> String {
    let files: Vec<SourceFile> = files.iter().map(|(p, c)| SourceFile::new(*p, *c)).collect();
    let (docs, problems) = parse(&files);
    let mut out = String::new();
    for p in &problems {
        out.push_str(&format!("{p}\n"));
    }
    for d in &docs {
        out.push_str(&format!(
            "ok {} {} at {}: {}\n",
            d.kind,
            d.name,
            d.location,
            d.spec.to_value()
        ));
    }
    out
}

#[test]
fn three_mistakes_in_one_document_are_all_reported() {
    let yaml = "\
apiVersion: shinrai/v1
kind: User
metadata:
  name: ann
spec:
  full_name: Ann Example
  email: ann@example.com
  pager: 555-1234
  time_zone: Mars/Olympus
  roles: admin
";
    insta::assert_snapshot!(check(&[("people.yaml", yaml)]), @r#"
    people.yaml:8: spec.pager: unknown field `pager`; expected one of contact_methods, email, full_name, notification_rules, roles, time_zone
    people.yaml:9: spec.time_zone: "Mars/Olympus" is not an IANA time zone (for example Europe/Berlin or America/New_York)
    people.yaml:10: spec.roles: expected a list, found a string
    "#);
}

#[test]
fn mistakes_in_two_files_are_all_reported() {
    let teams = "\
apiVersion: shinrai/v1
kind: Team
metadata:
  name: Core
spec:
  members: [ann, Bob]
---
apiVersion: shinrai/v1
kind: Servce
metadata:
  name: checkout
spec: {}
";
    let services = "\
apiVersion: shinrai/v1
kind: Service
metadata:
  name: checkout
  labels: {company: acme, tier: 1}
  owner: sam
spec:
  tier: 7
  runbooks:
    - title: ''
      url: wiki/checkout
";
    insta::assert_snapshot!(check(&[("teams.yaml", teams), ("services.yaml", services)]), @r#"
    teams.yaml:4: metadata.name: `Core` is not a valid name: may hold only lowercase letters, digits and '-' (found 'C')
    teams.yaml:6: spec.members[1]: `Bob` is not a valid name: may hold only lowercase letters, digits and '-' (found 'B')
    teams.yaml:9: kind: unknown kind `Servce`; known kinds: User, Team, Schedule, EscalationPolicy, Service, Router, MaintenanceWindow
    services.yaml:5: metadata.labels.tier: expected a string, found an integer (quote it: "...")
    services.yaml:6: metadata.owner: unknown field `owner`; expected one of name, labels
    services.yaml:7: spec.owner_team: missing required field
    services.yaml:8: spec.tier: must be at most 4, not 7
    "#);
}

#[test]
fn validation_rules_point_at_the_offending_field() {
    let yaml = "\
apiVersion: shinrai/v1
kind: Service
metadata:
  name: checkout
spec:
  owner_team: core
  tier: 7
  runbooks:
    - title: Dashboard
      url: https://grafana.example.com/d/checkout
    - title: ' '
      url: wiki/checkout
---
apiVersion: shinrai/v1
kind: User
metadata: {name: bob}
spec:
  full_name: Bob
  email: bob@example.com
  roles:
    - role: admin
    - role: owner
      team: Core
    - {role: viewer, company: acme, team: core}
";
    insta::assert_snapshot!(check(&[("a.yaml", yaml)]), @r#"
    a.yaml:7: spec.tier: must be at most 4, not 7
    a.yaml:11: spec.runbooks[1].title: must not be empty
    a.yaml:12: spec.runbooks[1].url: "wiki/checkout" must be an absolute http or https URL
    a.yaml:22: spec.roles[1].role: must be one of viewer, responder, admin (found `owner`)
    a.yaml:23: spec.roles[1].team: `Core` is not a valid name: may hold only lowercase letters, digits and '-' (found 'C')
    "#);
}

#[test]
fn document_shape_errors() {
    let yaml = "\
apiVersion: shinrai/v2
kind: Team
metadata:
  name: core
status: {}
---
kind: Team
metadata: {}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
---
- just a list
---
apiVersion: shinrai/v1
kind: User
metadata: {name: ann}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: web}
spec: [owner_team]
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: api}
spec: {owner_team: core, tier: 300}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: empty}
spec:
---
";
    insta::assert_snapshot!(check(&[("shape.yaml", yaml)]), @r#"
    shape.yaml:1: apiVersion: unsupported apiVersion `shinrai/v2`; expected shinrai/v1
    shape.yaml:5: status: unknown field `status`; expected one of apiVersion, kind, metadata, spec
    shape.yaml:7: apiVersion: missing required field (use shinrai/v1)
    shape.yaml:8: metadata.name: missing required field
    shape.yaml:10: apiVersion: `openslo/v1` documents are not supported yet
    shape.yaml:14: a document must be a mapping with apiVersion, kind, metadata and spec, not a list
    shape.yaml:16: spec: missing required field (a User needs a spec)
    shape.yaml:23: spec: expected a mapping, found a list
    shape.yaml:28: spec.tier: must be at most 4, not 300
    ok Team empty at shape.yaml:30: {"members":[]}
    "#);
}

#[test]
fn yaml_syntax_errors_do_not_stop_other_files() {
    let broken = "\
apiVersion: shinrai/v1
kind: Team
metadata:
  name: core
spec:
  members: [ann
";
    let dup = "\
apiVersion: shinrai/v1
kind: Team
kind: User
";
    let fine = "\
apiVersion: shinrai/v1
kind: Team
metadata:
  name: web
";
    insta::assert_snapshot!(check(&[("broken.yaml", broken), ("dup.yaml", dup), ("fine.yaml", fine)]), @r#"
    broken.yaml:7: invalid YAML: while parsing a flow sequence, expected ',' or ']'
    dup.yaml:3: invalid YAML: duplicated key in mapping
    ok Team web at fine.yaml:1: {"members":[]}
    "#);
}

#[test]
fn valid_documents_come_out_typed_and_normalized() {
    let yaml = "\
# Users first.
apiVersion: shinrai/v1
kind: User
metadata:
  name: ann
  labels:
    company: acme
spec:
  full_name: Ann Example
  email: ann@example.com
  roles:
    - {role: responder, team: core}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme, product: shop}}
spec: {owner_team: core, tier: 2, description: ~}
";
    insta::assert_snapshot!(check(&[("ok.yaml", yaml)]), @r#"
    ok User ann at ok.yaml:2: {"full_name":"Ann Example","email":"ann@example.com","time_zone":"UTC","roles":[{"role":"responder","team":"core"}]}
    ok Service checkout at ok.yaml:14: {"owner_team":"core","tier":2,"runbooks":[]}
    "#);
}

#[test]
fn json_specs_report_every_field_relative_to_the_spec() {
    use config::Spec;
    use domain::Kind;
    let errors = Spec::from_value(
        Kind::Team,
        serde_json::json!({"members": ["ann", "Bob", 3], "colour": "red"}),
    )
    .unwrap_err();
    let rendered: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    insta::assert_snapshot!(rendered.join("\n"), @r#"
    members[1]: `Bob` is not a valid name: may hold only lowercase letters, digits and '-' (found 'B')
    members[2]: expected a string, found an integer
    colour: unknown field `colour`; expected one of description, display_name, members
    "#);
    let spec = Spec::from_value(
        Kind::User,
        serde_json::json!({"full_name": "Ann", "email": "a@b.c"}),
    )
    .unwrap();
    assert_eq!(spec.to_value()["time_zone"], "UTC");
    assert_eq!(spec.kind(), Kind::User);
}
