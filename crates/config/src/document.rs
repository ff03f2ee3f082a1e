//! Documents: reading YAML files into typed, located objects, with every problem found.
//!
//! Longer than 600 lines because reading YAML into located documents is one walk over
//! saphyr's tree that reports every problem, with its tests.

use std::fmt;

use saphyr::{LoadableYamlNode, MarkedYamlOwned};
use serde::{Deserialize, Serialize};

use domain::catalog::FieldError;
use domain::{
    Kind, Labels, MaintenanceWindowSpec, Name, RouterSpec, ServiceSpec, TeamSpec, UserSpec,
};
use oncall::escalation::EscalationPolicySpec;
use oncall::schedule::ScheduleSpec;

use crate::schema::{Issue, schemas};
use crate::tree::{FieldLines, Node, Value, join};

/// The only `apiVersion` of shinrai's own kinds.
pub const API_VERSION: &str = "shinrai/v1";

/// A file handed in by the caller: this crate does no I/O.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub path: String,
    pub content: String,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, content: impl Into<String>) -> Self {
        SourceFile {
            path: path.into(),
            content: content.into(),
        }
    }
}

/// A place in a file; `line` is 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Something wrong in a file. `path` is the field's path from the document root
/// (`spec.members[1]`), empty when the problem is not about one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub location: Location,
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}: {}: {}", self.location, self.path, self.message)
        }
    }
}

/// A typed spec of one of the kinds this build knows.
#[derive(Clone, Debug, PartialEq)]
pub enum Spec {
    Team(TeamSpec),
    User(UserSpec),
    Service(ServiceSpec),
    Schedule(ScheduleSpec),
    EscalationPolicy(EscalationPolicySpec),
    Router(RouterSpec),
    MaintenanceWindow(MaintenanceWindowSpec),
}

/// A name one object uses to point at another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Relative to `spec`, e.g. `members[0]`.
    pub path: String,
    pub kind: Kind,
    pub name: Name,
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Team(_) => Kind::Team,
            Spec::User(_) => Kind::User,
            Spec::Service(_) => Kind::Service,
            Spec::Schedule(_) => Kind::Schedule,
            Spec::EscalationPolicy(_) => Kind::EscalationPolicy,
            Spec::Router(_) => Kind::Router,
            Spec::MaintenanceWindow(_) => Kind::MaintenanceWindow,
        }
    }

    /// The normalized JSON form, defaults filled in: what the store keeps and what plans
    /// compare.
    pub fn to_value(&self) -> serde_json::Value {
        let v = match self {
            Spec::Team(s) => serde_json::to_value(s),
            Spec::User(s) => serde_json::to_value(s),
            Spec::Service(s) => serde_json::to_value(s),
            Spec::Schedule(s) => serde_json::to_value(s),
            Spec::EscalationPolicy(s) => serde_json::to_value(s),
            Spec::Router(s) => serde_json::to_value(s),
            Spec::MaintenanceWindow(s) => serde_json::to_value(s),
        };
        // The spec types are plain data with string keys; serializing them cannot fail.
        v.unwrap_or(serde_json::Value::Null)
    }

    /// Typed parse of a JSON spec (the REST API's request bodies). Reports every
    /// structural problem, with paths relative to the spec (`members[1]`). It does not run
    /// [`Spec::validate`]; call that on the result.
    pub fn from_value(kind: Kind, value: serde_json::Value) -> Result<Spec, Vec<FieldError>> {
        let node = Node::from_json(&value);
        let mut issues = Vec::new();
        schemas().walk(&node, 0, schemas().spec_schema(kind), "", &mut issues);
        if !issues.is_empty() {
            return Err(issues
                .into_iter()
                .map(|i| FieldError::new(i.path, i.message))
                .collect());
        }
        deserialize(kind, value).map_err(|e| vec![FieldError::new("", e)])
    }

    /// The rules each kind checks on its own values (`domain`'s `validate`).
    pub fn validate(&self) -> Vec<FieldError> {
        match self {
            Spec::Team(s) => s.validate(),
            Spec::User(s) => s.validate(),
            Spec::Service(s) => s.validate(),
            Spec::Schedule(s) => s.validate(),
            Spec::EscalationPolicy(s) => s.validate(),
            Spec::Router(s) => s.validate(),
            Spec::MaintenanceWindow(s) => s.validate(),
        }
    }

    /// The objects this spec names, for reference checks.
    /// The distinct objects this spec names, for the store's reference bookkeeping.
    pub fn targets(&self) -> Vec<(Kind, Name)> {
        let mut targets: Vec<(Kind, Name)> = self
            .references()
            .into_iter()
            .map(|r| (r.kind, r.name))
            .collect();
        targets.sort();
        targets.dedup();
        targets
    }

    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        match self {
            Spec::Team(s) => {
                for (i, m) in s.members.iter().enumerate() {
                    refs.push(Reference {
                        path: format!("members[{i}]"),
                        kind: Kind::User,
                        name: m.clone(),
                    });
                }
            }
            Spec::User(s) => {
                for (i, g) in s.roles.iter().enumerate() {
                    if let Some(team) = &g.team {
                        refs.push(Reference {
                            path: format!("roles[{i}].team"),
                            kind: Kind::Team,
                            name: team.clone(),
                        });
                    }
                }
            }
            Spec::Service(s) => {
                refs.push(Reference {
                    path: "owner_team".into(),
                    kind: Kind::Team,
                    name: s.owner_team.clone(),
                });
                if let Some(p) = &s.escalation_policy {
                    refs.push(Reference {
                        path: "escalation_policy".into(),
                        kind: Kind::EscalationPolicy,
                        name: p.clone(),
                    });
                }
            }
            Spec::Schedule(s) => {
                for (i, layer) in s.layers.iter().enumerate() {
                    for (j, u) in layer.users.iter().enumerate() {
                        refs.push(Reference {
                            path: format!("layers[{i}].users[{j}]"),
                            kind: Kind::User,
                            name: u.clone(),
                        });
                    }
                }
                for (i, o) in s.overrides.iter().enumerate() {
                    refs.push(Reference {
                        path: format!("overrides[{i}].user"),
                        kind: Kind::User,
                        name: o.user.clone(),
                    });
                }
            }
            Spec::EscalationPolicy(s) => {
                for (path, kind, name) in s.references() {
                    refs.push(Reference { path, kind, name });
                }
            }
            Spec::Router(s) => {
                refs.push(Reference {
                    path: "team".into(),
                    kind: Kind::Team,
                    name: s.team.clone(),
                });
                for (i, r) in s.rules.iter().enumerate() {
                    refs.push(Reference {
                        path: format!("rules[{i}].service"),
                        kind: Kind::Service,
                        name: r.service.clone(),
                    });
                }
                refs.push(Reference {
                    path: "default".into(),
                    kind: Kind::Service,
                    name: s.default.clone(),
                });
            }
            Spec::MaintenanceWindow(s) => {
                for (i, service) in s.services.iter().enumerate() {
                    refs.push(Reference {
                        path: format!("services[{i}]"),
                        kind: Kind::Service,
                        name: service.clone(),
                    });
                }
            }
        }
        refs
    }
}

fn deserialize(kind: Kind, value: serde_json::Value) -> Result<Spec, String> {
    let r = match kind {
        Kind::Team => serde_json::from_value(value).map(Spec::Team),
        Kind::User => serde_json::from_value(value).map(Spec::User),
        Kind::Service => serde_json::from_value(value).map(Spec::Service),
        Kind::Schedule => serde_json::from_value(value).map(Spec::Schedule),
        Kind::EscalationPolicy => serde_json::from_value(value).map(Spec::EscalationPolicy),
        Kind::Router => serde_json::from_value(value).map(Spec::Router),
        Kind::MaintenanceWindow => serde_json::from_value(value).map(Spec::MaintenanceWindow),
    };
    r.map_err(|e| e.to_string())
}

/// One object declared in a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub kind: Kind,
    pub name: Name,
    pub labels: Labels,
    pub spec: Spec,
    /// Where the document starts.
    pub location: Location,
    /// The line of every field, so that later checks (references, duplicates) can point
    /// at the line to edit. Empty (`Default`) for documents not read from a file.
    pub field_lines: FieldLines,
}

impl Document {
    /// Where the field at `path` (from the document root) is, or the document's start.
    pub fn location_of(&self, path: &str) -> Location {
        Location {
            file: self.location.file.clone(),
            line: self.field_lines.line_of(path).unwrap_or(self.location.line),
        }
    }
}

/// A document as far as it could be read, problems or not: what the checks across
/// objects can still rely on when some of its fields are wrong.
pub(crate) struct Read {
    pub kind: Option<Kind>,
    pub name: Option<Name>,
    pub labels: Option<Labels>,
    /// The spec with its malformed fields left out (their defaults in their place);
    /// `None` when even that does not make a spec (a required field is malformed).
    pub spec: Option<Spec>,
    pub location: Location,
    pub field_lines: FieldLines,
    /// The paths (from the document root) of the fields with a problem.
    pub problems: Vec<String>,
}

impl Read {
    /// The document when it has no problem at all.
    fn complete(self) -> Option<Document> {
        if !self.problems.is_empty() {
            return None;
        }
        Some(Document {
            kind: self.kind?,
            name: self.name?,
            labels: self.labels?,
            spec: self.spec?,
            location: self.location,
            field_lines: self.field_lines,
        })
    }

    /// The readable part as a document, for the checks across objects: its kind, name
    /// and (partial) spec are known, whatever else is wrong.
    pub(crate) fn readable(&self) -> Option<Document> {
        Some(Document {
            kind: self.kind?,
            name: self.name.clone()?,
            labels: self.labels.clone().unwrap_or_default(),
            spec: self.spec.clone()?,
            location: self.location.clone(),
            field_lines: self.field_lines.clone(),
        })
    }
}

/// Parses every file (each may hold several `---` separated documents) and reports every
/// problem found, not only the first. A document with a problem yields no [`Document`].
pub fn parse(files: &[SourceFile]) -> (Vec<Document>, Vec<Problem>) {
    let (read, problems) = read(files);
    (
        read.into_iter().filter_map(Read::complete).collect(),
        problems,
    )
}

/// [`parse`], keeping every document as far as it could be read.
pub(crate) fn read(files: &[SourceFile]) -> (Vec<Read>, Vec<Problem>) {
    let mut docs = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match MarkedYamlOwned::load_from_str(&file.content) {
            Err(e) => problems.push(Problem {
                location: Location {
                    file: file.path.clone(),
                    line: e.marker().line(),
                },
                path: String::new(),
                message: format!("invalid YAML: {}", e.info()),
            }),
            Ok(yamls) => {
                for y in &yamls {
                    let mut found = Vec::new();
                    let doc = parse_document(&file.path, y, &mut found);
                    // Walk order is mostly line order already; make it exactly so.
                    found.sort_by_key(|i| i.line);
                    problems.extend(found.into_iter().map(|i| Problem {
                        location: Location {
                            file: file.path.clone(),
                            line: i.line,
                        },
                        path: i.path,
                        message: i.message,
                    }));
                    docs.extend(doc);
                }
            }
        }
    }
    (docs, problems)
}

const TOP_KEYS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];
const METADATA_KEYS: [&str; 2] = ["name", "labels"];

/// Checks one YAML document; returns it as far as it could be read (`None` for an empty
/// document, one that is not a mapping, or one of a kind this build does not check).
fn parse_document(file: &str, y: &MarkedYamlOwned, out: &mut Vec<Issue>) -> Option<Read> {
    let mut conversion = Vec::new();
    let root = Node::from_yaml(y, &mut conversion);
    let before = out.len();
    out.extend(conversion.into_iter().map(|(line, message)| Issue {
        path: String::new(),
        line,
        message,
        unknown: false,
    }));
    let issue = |path: &str, line: usize, message: String| Issue {
        path: path.to_owned(),
        line,
        message,
        unknown: false,
    };
    let Value::Map(entries) = &root.value else {
        // An empty document (a trailing `---`) is nothing to check.
        if root.value != Value::Null {
            out.push(issue(
                "",
                root.line,
                format!(
                    "a document must be a mapping with apiVersion, kind, metadata and spec, not {}",
                    root.describe()
                ),
            ));
        }
        return None;
    };
    let lines = FieldLines::of(&root);
    for e in entries {
        if !TOP_KEYS.contains(&e.key.as_str()) {
            out.push(issue(&e.key, e.key_line, unknown(&e.key, &TOP_KEYS)));
        }
    }

    // apiVersion
    match root.get("apiVersion") {
        None => out.push(issue(
            "apiVersion",
            root.line,
            format!("missing required field (use {API_VERSION})"),
        )),
        Some(e) => match &e.value.value {
            Value::Str(v) if v == API_VERSION => {}
            Value::Str(v) if v.starts_with("openslo") => {
                out.push(issue(
                    "apiVersion",
                    e.key_line,
                    format!("`{v}` documents are not supported yet"),
                ));
                // OpenSLO kinds have their own shapes; checking them as shinrai's would
                // only add noise.
                return None;
            }
            Value::Str(v) => out.push(issue(
                "apiVersion",
                e.key_line,
                format!("unsupported apiVersion `{v}`; expected {API_VERSION}"),
            )),
            _ => out.push(issue(
                "apiVersion",
                e.key_line,
                format!("expected a string, found {}", e.value.describe()),
            )),
        },
    }

    // kind
    let kind = match root.get("kind") {
        None => {
            out.push(issue(
                "kind",
                root.line,
                format!("missing required field (one of {})", known_kinds()),
            ));
            None
        }
        Some(e) => match &e.value.value {
            Value::Str(k) => match k.parse::<Kind>() {
                Ok(k) => Some(k),
                Err(_) => {
                    out.push(issue(
                        "kind",
                        e.key_line,
                        format!("unknown kind `{k}`; known kinds: {}", known_kinds()),
                    ));
                    None
                }
            },
            _ => {
                out.push(issue(
                    "kind",
                    e.key_line,
                    format!("expected a string, found {}", e.value.describe()),
                ));
                None
            }
        },
    };

    // metadata
    let (name, labels) = parse_metadata(&root, out);

    // spec
    let spec = kind.and_then(|kind| parse_spec(kind, &root, &lines, out));

    Some(Read {
        kind,
        name,
        labels,
        spec,
        location: Location {
            file: file.to_owned(),
            line: root.line,
        },
        field_lines: lines,
        problems: out[before..].iter().map(|i| i.path.clone()).collect(),
    })
}

fn known_kinds() -> String {
    Kind::ALL.map(Kind::as_str).join(", ")
}

fn unknown(key: &str, known: &[&str]) -> String {
    format!(
        "unknown field `{key}`; expected one of {}",
        known.join(", ")
    )
}

fn parse_metadata(root: &Node, out: &mut Vec<Issue>) -> (Option<Name>, Option<Labels>) {
    let Some(meta) = root.get("metadata") else {
        out.push(Issue {
            path: "metadata".into(),
            line: root.line,
            message: "missing required field (with at least `name`)".into(),
            unknown: false,
        });
        return (None, None);
    };
    let Value::Map(entries) = &meta.value.value else {
        out.push(Issue {
            path: "metadata".into(),
            line: meta.key_line,
            message: format!("expected a mapping, found {}", meta.value.describe()),
            unknown: false,
        });
        return (None, None);
    };
    for e in entries {
        if !METADATA_KEYS.contains(&e.key.as_str()) {
            out.push(Issue {
                path: join("metadata", &e.key),
                line: e.key_line,
                message: unknown(&e.key, &METADATA_KEYS),
                unknown: false,
            });
        }
    }
    let name = match meta.value.get("name") {
        None => {
            out.push(Issue {
                path: "metadata.name".into(),
                line: meta.key_line,
                message: "missing required field".into(),
                unknown: false,
            });
            None
        }
        Some(e) => {
            let text = match &e.value.value {
                Value::Str(s) => Some(s.clone()),
                // `name: 2024` is a number to YAML, but a fine name.
                Value::Int(i) => Some(i.to_string()),
                _ => None,
            };
            match text {
                None => {
                    out.push(Issue {
                        path: "metadata.name".into(),
                        line: e.key_line,
                        message: format!("expected a string, found {}", e.value.describe()),
                        unknown: false,
                    });
                    None
                }
                Some(s) => match Name::new(s.clone()) {
                    Ok(n) => Some(n),
                    Err(why) => {
                        out.push(Issue {
                            path: "metadata.name".into(),
                            line: e.key_line,
                            message: format!("`{s}` is not a valid name: {why}"),
                            unknown: false,
                        });
                        None
                    }
                },
            }
        }
    };
    let labels = match meta.value.get("labels") {
        None => Some(Labels::new()),
        Some(e) => match &e.value.value {
            Value::Null => Some(Labels::new()),
            Value::Map(entries) => {
                let mut labels = Labels::new();
                let mut ok = true;
                for l in entries {
                    let path = join("metadata.labels", &l.key);
                    match &l.value.value {
                        Value::Str(v) => labels.insert(l.key.clone(), v.clone()),
                        other => {
                            ok = false;
                            let hint = match other {
                                Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                                    " (quote it: \"...\")"
                                }
                                _ => "",
                            };
                            out.push(Issue {
                                path,
                                line: l.key_line,
                                message: format!(
                                    "expected a string, found {}{hint}",
                                    l.value.describe()
                                ),
                                unknown: false,
                            });
                        }
                    }
                }
                for (key, why) in labels.validate() {
                    ok = false;
                    let line = entries
                        .iter()
                        .find(|l| l.key == key)
                        .map_or(e.key_line, |l| l.key_line);
                    out.push(Issue {
                        path: join("metadata.labels", &key),
                        line,
                        message: why.to_string(),
                        unknown: false,
                    });
                }
                ok.then_some(labels)
            }
            _ => {
                out.push(Issue {
                    path: "metadata.labels".into(),
                    line: e.key_line,
                    message: format!("expected a mapping, found {}", e.value.describe()),
                    unknown: false,
                });
                None
            }
        },
    };
    (name, labels)
}

/// A spec-relative path (`members[1]`, or empty for the spec itself) from the root.
fn spec_path(path: &str) -> String {
    if path.is_empty() || path.starts_with('[') {
        format!("spec{path}")
    } else {
        format!("spec.{path}")
    }
}

/// The first key below the spec in a spec-relative path: `roles[0].team` -> `roles`.
fn top_field(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or("")
}

/// A malformed field inside a list item: `field` (`roles[1].team`) in `item` (`roles[1]`)
/// of the top-level field `top` (`roles`).
struct ItemField {
    top: String,
    field: String,
    item: String,
}

/// The field of a list item a spec-relative `path` is in, when it is in one:
/// `roles[1].team` and `layers[0].users[2]` are, `members[1]` and `owner_team` are not.
fn item_field(path: &str) -> Option<ItemField> {
    let mut field = path;
    while let Some(rest) = field.strip_suffix(']') {
        let open = rest.rfind('[')?;
        field = &rest[..open];
    }
    let item = &field[..=field.rfind(']')?];
    (field.len() > item.len()).then(|| ItemField {
        top: top_field(path).to_owned(),
        field: field.to_owned(),
        item: item.to_owned(),
    })
}

/// Whether `path` is `item` or below it.
fn within(path: &str, item: &str) -> bool {
    path.strip_prefix(item)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Removes the field at the spec-relative `path` (`roles[0].colour`) from `value`;
/// false when there is no such field.
fn remove_field(value: &mut serde_json::Value, path: &str) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            if map.remove(path).is_some() {
                return true;
            }
            // Keys may hold dots: the longest key that the path continues below.
            let key = map
                .keys()
                .filter(|k| {
                    path.len() > k.len()
                        && path.starts_with(k.as_str())
                        && matches!(path.as_bytes()[k.len()], b'.' | b'[')
                })
                .max_by_key(|k| k.len())
                .cloned();
            let Some(key) = key else {
                return false;
            };
            let rest = &path[key.len()..];
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            map.get_mut(&key).is_some_and(|v| remove_field(v, rest))
        }
        serde_json::Value::Array(items) => {
            let Some((index, rest)) = path.strip_prefix('[').and_then(|p| p.split_once(']')) else {
                return false;
            };
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            match index.parse::<usize>() {
                Ok(index) => items.get_mut(index).is_some_and(|v| remove_field(v, rest)),
                Err(_) => false,
            }
        }
        _ => false,
    }
}

fn parse_spec(kind: Kind, root: &Node, lines: &FieldLines, out: &mut Vec<Issue>) -> Option<Spec> {
    let s = schemas();
    let schema = s.spec_schema(kind);
    let empty = Node {
        line: root.line,
        value: Value::Map(Vec::new()),
    };
    let (node, line) = match root.get("spec") {
        // `spec:` with nothing after it is an omitted spec, not a wrong type.
        Some(e) if e.value.value == Value::Null && !s.has_required(schema) => (&empty, e.key_line),
        Some(e) => (&e.value, e.key_line),
        None if s.has_required(schema) => {
            out.push(Issue {
                path: "spec".into(),
                line: root.line,
                message: format!("missing required field (a {kind} needs a spec)"),
                unknown: false,
            });
            return None;
        }
        None => (&empty, root.line),
    };
    let mut issues = Vec::new();
    s.walk(node, line, schema, "", &mut issues);

    // serde and `validate` only see a well-formed value. When some fields are malformed,
    // they are left out (their defaults take over) so that the rules of the other fields
    // still run, and the references of the spec so read are checked: one pass reports
    // mistakes of every sort. An unknown field means nothing, so only it is left out. A
    // malformed field of a list item (`roles[1].team`) leaves out only that field, and
    // that item is spared the rules; when the item cannot do without it, or the mistake
    // is not inside a list item, the whole top-level field is left out.
    let mut whole_spec_wrong = false;
    let mut unknown: Vec<&str> = Vec::new();
    let mut coarse: Vec<String> = Vec::new();
    let mut fine: Vec<ItemField> = Vec::new();
    let mut probe = node.to_json();
    for i in &issues {
        let top = top_field(&i.path);
        if top.is_empty() {
            // The spec as a whole is wrong (not a mapping): nothing more to check.
            whole_spec_wrong = true;
            break;
        }
        if i.unknown && remove_field(&mut probe, &i.path) {
            unknown.push(&i.path);
        } else if let Some(f) = item_field(&i.path).filter(|_| !i.unknown) {
            fine.push(f);
        } else {
            coarse.push(top.to_owned());
        }
    }
    let build = |coarse: &[String]| {
        let mut v = node.to_json();
        for path in &unknown {
            remove_field(&mut v, path);
        }
        for f in fine.iter().filter(|f| !coarse.contains(&f.top)) {
            remove_field(&mut v, &f.field);
        }
        if let Some(o) = v.as_object_mut() {
            for top in coarse {
                o.remove(top);
            }
        }
        v
    };
    // A list whose item cannot do without the field left out is left out whole.
    let mut fine_tops: Vec<String> = fine
        .iter()
        .map(|f| f.top.clone())
        .filter(|t| !coarse.contains(t))
        .collect();
    fine_tops.dedup();
    let mut dropped = coarse.clone();
    for top in &fine_tops {
        let mut trial = coarse.clone();
        trial.extend(fine_tops.iter().filter(|t| *t != top).cloned());
        if deserialize(kind, build(&trial)).is_err() {
            dropped.push(top.clone());
        }
    }
    let spared: Vec<&str> = fine
        .iter()
        .filter(|f| !dropped.contains(&f.top))
        .map(|f| f.item.as_str())
        .collect();
    let value = if whole_spec_wrong {
        serde_json::Value::Null
    } else {
        build(&dropped)
    };
    let clean = issues.is_empty();
    out.extend(issues.into_iter().map(|i| Issue {
        path: spec_path(&i.path),
        ..i
    }));
    if !clean && value.is_null() {
        return None;
    }
    let spec = match deserialize(kind, value) {
        Ok(spec) => spec,
        Err(e) => {
            // Only reachable when the walk found the value clean (the schema cannot say
            // everything serde checks, such as the range of a u8), or after dropping a
            // required field.
            if clean {
                out.push(Issue {
                    path: "spec".into(),
                    line,
                    message: e,
                    unknown: false,
                });
            }
            return None;
        }
    };
    let errors: Vec<FieldError> = spec
        .validate()
        .into_iter()
        .filter(|e| !dropped.iter().any(|d| d == top_field(&e.path)))
        .filter(|e| !spared.iter().any(|item| within(&e.path, item)))
        .collect();
    for e in errors {
        let path = spec_path(&e.path);
        out.push(Issue {
            line: lines.line_of(&path).unwrap_or(line),
            path,
            message: e.message,
            unknown: false,
        });
    }
    Some(spec)
}
