//! Plans and reference checks against a snapshot of the store.

use config::{Document, Existing, SourceFile, check_references, parse, plan};
use domain::{Kind, Labels, Name};

fn docs(files: &[(&str, &str)]) -> Vec<Document> {
    let files: Vec<SourceFile> = files.iter().map(|(p, c)| SourceFile::new(*p, *c)).collect();
    let (docs, problems) = parse(&files);
    assert!(problems.is_empty(), "{problems:?}");
    docs
}

fn stored(kind: Kind, name: &str, spec: serde_json::Value, source: Option<&str>) -> Existing {
    Existing {
        kind,
        name: Name::new(name).unwrap(),
        labels: Labels::new(),
        spec,
        source: source.map(str::to_owned),
    }
}

/// Plans `files` against `existing` and renders the plan as the CLI prints it.
fn check_plan(files: &[(&str, &str)], existing: &[Existing], prune: bool) -> String {
    plan(&docs(files), existing, prune).to_string()
}

const TEAMS: &str = "\
apiVersion: shinrai/v1
kind: Team
metadata:
  name: core
  labels: {company: acme}
spec:
  members: [ann, bob]
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout}
spec: {owner_team: core}
";

const USERS: &str = "\
apiVersion: shinrai/v1
kind: User
metadata: {name: ann}
spec: {full_name: Ann, email: ann@example.com}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: bob}
spec: {full_name: Bob, email: bob@example.com, time_zone: UTC}
";

#[test]
fn everything_new_is_created_in_dependency_order() {
    insta::assert_snapshot!(check_plan(&[("teams.yaml", TEAMS), ("users.yaml", USERS)], &[], false), @r"
    + create User ann (users.yaml)
    + create User bob (users.yaml)
    + create Team core (teams.yaml)
    + create Service checkout (teams.yaml)
    Plan: 4 to create, 0 to update, 0 to delete.
    ");
}

#[test]
fn applying_the_same_documents_twice_changes_nothing() {
    let files = [("teams.yaml", TEAMS), ("users.yaml", USERS)];
    let existing: Vec<Existing> = docs(&files).iter().map(Existing::from_document).collect();
    let p = plan(&docs(&files), &existing, true);
    assert!(p.is_empty());
    insta::assert_snapshot!(p.to_string(), @"No changes: the store matches the files.");
}

#[test]
fn stored_specs_with_defaults_omitted_equal_normalized_documents() {
    // The store may hold a spec written without its defaults (an older build, a hand
    // edit); the plan compares normalized values, so that is not a difference.
    let existing = [
        stored(
            Kind::User,
            "ann",
            serde_json::json!({"full_name": "Ann", "email": "ann@example.com"}),
            Some("users.yaml"),
        ),
        stored(
            Kind::User,
            "bob",
            serde_json::json!({"email": "bob@example.com", "full_name": "Bob", "roles": []}),
            Some("users.yaml"),
        ),
    ];
    insta::assert_snapshot!(check_plan(&[("users.yaml", USERS)], &existing, true), @"No changes: the store matches the files.");
}

#[test]
fn updates_show_each_changed_field_and_adoption() {
    let mut core = stored(
        Kind::Team,
        "core",
        serde_json::json!({"members": ["ann"], "description": "old"}),
        Some("teams.yaml"),
    );
    core.labels = Labels::from([("company", "globex"), ("tier", "1")]);
    let existing = [
        core,
        // Created through the API: declaring it in a file adopts it.
        stored(
            Kind::Service,
            "checkout",
            serde_json::json!({"owner_team": "core", "runbooks": []}),
            None,
        ),
    ];
    let p = plan(&docs(&[("teams.yaml", TEAMS)]), &existing, false);
    insta::assert_snapshot!(p.to_string(), @r#"
    ~ update Team core
        metadata.labels.company: "globex" -> "acme"
        metadata.labels.tier: "1" -> (none)
        spec.members: ["ann"] -> ["ann","bob"]
        spec.description: "old" -> (none)
    ~ update Service checkout
        metadata.managed_by: (none) -> "teams.yaml"
    Plan: 0 to create, 2 to update, 0 to delete.
    "#);
    assert_eq!(p.counts(), (0, 2, 0));
    insta::assert_json_snapshot!(p.changes[1], @r#"
    {
      "action": "update",
      "kind": "Service",
      "name": "checkout",
      "source": "teams.yaml",
      "diffs": [
        {
          "path": "metadata.managed_by",
          "before": null,
          "after": "teams.yaml"
        }
      ]
    }
    "#);
}

#[test]
fn only_prune_deletes_and_only_managed_objects() {
    let existing = [
        stored(
            Kind::User,
            "old",
            serde_json::json!({"full_name": "Old", "email": "old@example.com"}),
            Some("users.yaml"),
        ),
        stored(
            Kind::Team,
            "gone",
            serde_json::json!({}),
            Some("teams.yaml"),
        ),
        stored(Kind::Team, "handmade", serde_json::json!({}), None),
        stored(
            Kind::Service,
            "legacy",
            serde_json::json!({"owner_team": "gone"}),
            Some("old.yaml"),
        ),
    ];
    let files = [("users.yaml", USERS)];
    insta::assert_snapshot!(check_plan(&files, &existing, false), @r"
    + create User ann (users.yaml)
    + create User bob (users.yaml)
    Plan: 2 to create, 0 to update, 0 to delete.
    ");
    insta::assert_snapshot!(check_plan(&files, &existing, true), @r"
    + create User ann (users.yaml)
    + create User bob (users.yaml)
    - delete Service legacy
    - delete Team gone
    - delete User old
    Plan: 2 to create, 0 to update, 3 to delete.
    ");
}

#[test]
fn moving_a_document_to_another_file_changes_its_owner() {
    let existing: Vec<Existing> = docs(&[("users.yaml", USERS)])
        .iter()
        .map(Existing::from_document)
        .collect();
    insta::assert_snapshot!(check_plan(&[("people/users.yaml", USERS)], &existing, true), @r#"
    ~ update User ann
        metadata.managed_by: "users.yaml" -> "people/users.yaml"
    ~ update User bob
        metadata.managed_by: "users.yaml" -> "people/users.yaml"
    Plan: 0 to create, 2 to update, 0 to delete.
    "#);
}

/// Runs the cross-object checks and renders the problems.
fn check_refs(files: &[(&str, &str)], existing: &[Existing], prune: bool) -> String {
    let problems = check_references(&docs(files), existing, prune);
    problems.iter().map(|p| format!("{p}\n")).collect()
}

#[test]
fn references_must_resolve_in_files_or_store() {
    let files = [("teams.yaml", TEAMS)];
    // Nothing stored: both members are unknown.
    insta::assert_snapshot!(check_refs(&files, &[], false), @r"
    teams.yaml:7: spec.members[0]: no User named `ann` exists in the files or in shinrai
    teams.yaml:7: spec.members[1]: no User named `bob` exists in the files or in shinrai
    ");
    let existing = [
        stored(Kind::User, "ann", serde_json::json!({}), None),
        stored(Kind::User, "bob", serde_json::json!({}), Some("users.yaml")),
    ];
    insta::assert_snapshot!(check_refs(&files, &existing, false), @"");
    // With --prune, bob (managed, document gone) would disappear; ann (unmanaged) stays.
    insta::assert_snapshot!(
        check_refs(&files, &existing, true),
        @"teams.yaml:7: spec.members[1]: User `bob` would be deleted by --prune: its document is gone"
    );
}

#[test]
fn duplicates_and_block_list_references_point_at_their_lines() {
    let a = "\
apiVersion: shinrai/v1
kind: User
metadata:
  name: ann
spec:
  full_name: Ann
  email: ann@example.com
  roles:
    - role: admin
    - role: viewer
      team: web
";
    let b = "\
apiVersion: shinrai/v1
kind: User
metadata:
  name: ann
spec: {full_name: Ann, email: ann@example.com}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: ann}
";
    insta::assert_snapshot!(check_refs(&[("a.yaml", a), ("b.yaml", b)], &[], false), @r"
    b.yaml:4: metadata.name: User `ann` is already declared at a.yaml:4
    a.yaml:11: spec.roles[1].team: no Team named `web` exists in the files or in shinrai
    ");
}
