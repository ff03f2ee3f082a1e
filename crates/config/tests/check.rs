//! One check of a set of files: shape, values and references, every problem in one pass.

use config::{SourceFile, check};

fn render(files: &[(&str, &str)]) -> String {
    let files: Vec<SourceFile> = files.iter().map(|(p, c)| SourceFile::new(*p, *c)).collect();
    let (docs, problems) = check(&files, &[], false);
    let mut out = String::new();
    for p in &problems {
        out.push_str(&format!("{p}\n"));
    }
    for d in &docs {
        out.push_str(&format!("ok {} {}\n", d.kind, d.name));
    }
    out
}

#[test]
fn shape_value_and_reference_problems_are_reported_in_one_run() {
    let yaml = "\
apiVersion: shinrai/v1
kind: User
metadata: {name: ann}
spec:
  full_name: Ann
  email: ann-at-example
  pager: 555-1234
  time_zone: Mars/Olympus
  roles:
    - {role: responder, team: ghosts}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: core}
spec:
  members: [ann, nobody]
  colour: red
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: core-primary}
spec:
  time_zone: Mars/Olympus
  layers:
    - name: weekly
      start: 2026-01-05T09:00
      rotation: 1w
      users: [ann, carol]
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout}
spec: {owner_team: core, escalation_policy: checkout-pages}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: bob}
spec: {full_name: Bob, email: bob@example.com, roles: [{role: admin, team: platform}]}
";
    insta::assert_snapshot!(render(&[("org.yaml", yaml)]), @r#"
    org.yaml:6: spec.email: "ann-at-example" is not an email address (no '@')
    org.yaml:7: spec.pager: unknown field `pager`; expected one of contact_methods, email, full_name, notification_rules, roles, time_zone
    org.yaml:8: spec.time_zone: "Mars/Olympus" is not an IANA time zone (for example Europe/Berlin or America/New_York)
    org.yaml:10: spec.roles[0].team: no Team named `ghosts` exists in the files or in shinrai
    org.yaml:16: spec.members[1]: no User named `nobody` exists in the files or in shinrai
    org.yaml:17: spec.colour: unknown field `colour`; expected one of description, display_name, members
    org.yaml:23: spec.time_zone: "Mars/Olympus" is not an IANA time zone (for example Europe/Berlin)
    org.yaml:28: spec.layers[0].users[1]: no User named `carol` exists in the files or in shinrai
    org.yaml:33: spec.escalation_policy: no EscalationPolicy named `checkout-pages` exists in the files or in shinrai
    org.yaml:38: spec.roles[0].team: no Team named `platform` exists in the files or in shinrai
    ok Service checkout
    ok User bob
    "#);
}

#[test]
fn no_reference_is_reported_from_a_document_whose_name_is_invalid() {
    let yaml = "\
apiVersion: shinrai/v1
kind: Team
metadata: {name: Core}
spec: {members: [nobody]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout}
spec: {owner_team: Core}
";
    insta::assert_snapshot!(render(&[("org.yaml", yaml)]), @"
    org.yaml:3: metadata.name: `Core` is not a valid name: may hold only lowercase letters, digits and '-' (found 'C')
    org.yaml:9: spec.owner_team: `Core` is not a valid name: may hold only lowercase letters, digits and '-' (found 'C')
    ");
}

#[test]
fn a_clean_set_of_files_yields_every_document() {
    let yaml = "\
apiVersion: shinrai/v1
kind: Team
metadata: {name: core}
spec: {}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout}
spec: {owner_team: core}
";
    insta::assert_snapshot!(render(&[("org.yaml", yaml)]), @"
    ok Team core
    ok Service checkout
    ");
}

#[test]
fn an_unknown_field_inside_a_list_item_hides_nothing_else_of_the_list() {
    let yaml = "\
apiVersion: shinrai/v1
kind: User
metadata: {name: ann}
spec:
  full_name: Ann
  email: ann@example.com
  roles:
    - {role: responder, team: ghosts, colour: red}
    - {role: admin, team: core}
  contact_methods:
    - {name: phone, type: sms, address: '+4915112345678', colour: red}
    - {name: desk, type: sms, address: 'not a number'}
";
    insta::assert_snapshot!(render(&[("org.yaml", yaml)]), @r#"
    org.yaml:8: spec.roles[0].colour: unknown field `colour`; expected one of company, role, team
    org.yaml:8: spec.roles[0].team: no Team named `ghosts` exists in the files or in shinrai
    org.yaml:9: spec.roles[1].team: no Team named `core` exists in the files or in shinrai
    org.yaml:11: spec.contact_methods[0].colour: unknown field `colour`; expected one of address, name, type
    org.yaml:12: spec.contact_methods[1].address: "not a number" is not a phone number in E.164 form (`+` and 8 to 15 digits, like +4915112345678)
    "#);
}

#[test]
fn a_malformed_field_of_one_list_item_hides_nothing_of_the_other_items() {
    let yaml = "\
apiVersion: shinrai/v1
kind: User
metadata: {name: ann}
spec:
  full_name: Ann
  email: ann@example.com
  roles:
    - {role: responder, team: ghosts}
    - {role: admin, team: Core}
";
    insta::assert_snapshot!(render(&[("org.yaml", yaml)]), @"
    org.yaml:8: spec.roles[0].team: no Team named `ghosts` exists in the files or in shinrai
    org.yaml:9: spec.roles[1].team: `Core` is not a valid name: may hold only lowercase letters, digits and '-' (found 'C')
    ");
}

#[test]
fn a_service_without_an_escalation_policy_is_a_warning_not_a_problem() {
    let yaml = "\
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop}
spec: {members: []}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: lonely}
spec:
  owner_team: shop
";
    let files = [SourceFile::new("org.yaml", yaml)];
    let (docs, problems) = check(&files, &[], false);
    assert!(problems.is_empty(), "{problems:?}");
    let warnings: Vec<String> = config::warnings(&docs)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warnings,
        [
            "org.yaml:9: spec.escalation_policy: warning: no escalation policy: its incidents will page nobody"
        ]
    );
}
