//! Structural validation against the JSON schemas utoipa derives from the spec types, and
//! the field reference generated from the same schemas.
//!
//! serde stops at the first error; a person fixing a file wants all of them at once. So
//! the spanned tree is walked against the schema first, collecting every mismatch, and
//! serde only runs on a tree that is already known to be well-formed. The schema is the
//! one the REST API publishes, so the files and the API cannot drift apart.
//!
//! Supported schema vocabulary (what utoipa 5 emits for the spec types): `$ref` to
//! `#/components/schemas/X`, `type` (a string or a list such as `["string", "null"]`),
//! `properties`, `required`, `additionalProperties` (false or a schema), `items`, `enum`,
//! `oneOf`/`anyOf`/`allOf`, `minimum`/`maximum`. A keyword outside this list is ignored,
//! and serde (which runs afterwards) still has the last word.

use std::sync::OnceLock;

use serde_json::{Map, Value as Json};
use utoipa::ToSchema;

use domain::Kind;

use crate::tree::{Node, Value, join};

/// One structural mismatch: `path` is relative to the walked root.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Issue {
    pub path: String,
    pub line: usize,
    pub message: String,
    /// An unknown field: it carries no meaning, so leaving it out changes nothing else.
    pub unknown: bool,
}

pub(crate) struct Schemas {
    components: Map<String, Json>,
}

/// The schema name of each kind's spec type.
fn spec_schema_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Team => "TeamSpec",
        Kind::User => "UserSpec",
        Kind::Service => "ServiceSpec",
        Kind::Schedule => "ScheduleSpec",
        Kind::EscalationPolicy => "EscalationPolicySpec",
        Kind::Router => "RouterSpec",
        Kind::MaintenanceWindow => "MaintenanceWindowSpec",
    }
}

fn add<T: ToSchema>(components: &mut Map<String, Json>) {
    let mut deps = Vec::new();
    T::schemas(&mut deps);
    for (name, schema) in deps {
        components.insert(name, to_json(&schema));
    }
    components.insert(T::name().into_owned(), to_json(&T::schema()));
}

fn to_json<S: serde::Serialize>(s: &S) -> Json {
    // Serializing a utoipa schema into a JSON value cannot fail: it is plain data.
    serde_json::to_value(s).unwrap_or(Json::Null)
}

pub(crate) fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut components = Map::new();
        add::<domain::TeamSpec>(&mut components);
        add::<domain::UserSpec>(&mut components);
        add::<domain::ServiceSpec>(&mut components);
        add::<oncall::schedule::ScheduleSpec>(&mut components);
        add::<oncall::escalation::EscalationPolicySpec>(&mut components);
        add::<domain::RouterSpec>(&mut components);
        add::<domain::MaintenanceWindowSpec>(&mut components);
        Schemas { components }
    })
}

/// Checks that schema references to these component names carry, beyond their JSON type.
fn format_check(ref_name: &str, s: &str) -> Option<String> {
    match ref_name {
        "Name" => domain::name::check_name(s)
            .err()
            .map(|e| format!("`{s}` is not a valid name: {e}")),
        _ => None,
    }
}

fn type_words(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "array" => "a list",
        "object" => "a mapping",
        "null" => "null",
        _ => "a value",
    }
}

fn type_matches(node: &Node, t: &str) -> bool {
    matches!(
        (&node.value, t),
        (Value::Null, "null")
            | (Value::Bool(_), "boolean")
            | (Value::Int(_), "integer" | "number")
            | (Value::Float(_), "number")
            | (Value::Str(_), "string")
            | (Value::Seq(_), "array")
            | (Value::Map(_), "object")
    )
}

fn types_of(schema: &Json) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Json::String(s) => Some(vec![s.as_str()]),
        Json::Array(a) => Some(a.iter().filter_map(Json::as_str).collect()),
        _ => None,
    }
}

fn scalar_text(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

impl Schemas {
    pub fn spec_schema(&self, kind: Kind) -> &Json {
        self.components
            .get(spec_schema_name(kind))
            .unwrap_or(&Json::Null)
    }

    /// Follows `$ref`s; returns the target schema and the name of the last component
    /// referenced, if any.
    fn resolve<'a>(&'a self, mut schema: &'a Json) -> (&'a Json, Option<&'a str>) {
        let mut name = None;
        for _ in 0..16 {
            let Some(r) = schema.get("$ref").and_then(Json::as_str) else {
                break;
            };
            let n = r.rsplit('/').next().unwrap_or(r);
            match self.components.get_key_value(n) {
                Some((k, s)) => {
                    name = Some(k.as_str());
                    schema = s;
                }
                None => break,
            }
        }
        (schema, name)
    }

    /// True when the schema requires fields (so an omitted object is an error).
    pub fn has_required(&self, schema: &Json) -> bool {
        let (s, _) = self.resolve(schema);
        s.get("required")
            .and_then(Json::as_array)
            .is_some_and(|r| !r.is_empty())
    }

    /// Walks `node` against `schema`, pushing every mismatch. `line` is where problems
    /// about this value point: its key's line when reached through a key.
    pub fn walk(&self, node: &Node, line: usize, schema: &Json, path: &str, out: &mut Vec<Issue>) {
        let (schema, ref_name) = self.resolve(schema);
        let issue = |message: String| Issue {
            path: path.to_owned(),
            line,
            message,
            unknown: false,
        };

        if let Some(all) = schema.get("allOf").and_then(Json::as_array) {
            for s in all {
                self.walk(node, line, s, path, out);
            }
        }
        if let Some(branches) = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Json::as_array)
        {
            // Branches whose top-level type fits are the candidates; the value is fine when
            // one of them accepts it whole. Otherwise the first candidate's complaints are
            // the most useful ones (for `Option<T>` that is T's).
            let candidates: Vec<&Json> = branches
                .iter()
                .filter(|b| {
                    let (b, _) = self.resolve(b);
                    types_of(b).is_none_or(|ts| ts.iter().any(|t| type_matches(node, t)))
                })
                .collect();
            if candidates.is_empty() {
                let mut expected: Vec<&str> = Vec::new();
                for b in branches {
                    for t in types_of(self.resolve(b).0).unwrap_or_default() {
                        if t != "null" && !expected.contains(&type_words(t)) {
                            expected.push(type_words(t));
                        }
                    }
                }
                out.push(issue(format!(
                    "expected {}, found {}",
                    expected.join(" or "),
                    node.describe()
                )));
                return;
            }
            let mut first = None;
            for c in candidates {
                let mut tmp = Vec::new();
                self.walk(node, line, c, path, &mut tmp);
                if tmp.is_empty() {
                    first = None;
                    break;
                }
                first.get_or_insert(tmp);
            }
            out.extend(first.unwrap_or_default());
            return;
        }

        if let Some(types) = types_of(schema)
            && !types.iter().any(|t| type_matches(node, t))
        {
            let expected: Vec<&str> = types
                .iter()
                .filter(|t| **t != "null")
                .map(|t| type_words(t))
                .collect();
            out.push(issue(format!(
                "expected {}, found {}",
                expected.join(" or "),
                node.describe()
            )));
            return;
        }
        if node.value == Value::Null {
            return;
        }
        if let Some(values) = schema.get("enum").and_then(Json::as_array)
            && !values.contains(&node.to_json())
        {
            let names: Vec<String> = values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            out.push(issue(format!(
                "must be one of {} (found `{}`)",
                names.join(", "),
                scalar_text(node)
            )));
            return;
        }

        match &node.value {
            Value::Int(_) | Value::Float(_) => {
                let n = match node.value {
                    Value::Int(i) => i as f64,
                    Value::Float(f) => f,
                    _ => 0.0,
                };
                if let Some(min) = schema.get("minimum").and_then(Json::as_f64)
                    && n < min
                {
                    out.push(issue(format!(
                        "must be at least {min}, not {}",
                        scalar_text(node)
                    )));
                }
                if let Some(max) = schema.get("maximum").and_then(Json::as_f64)
                    && n > max
                {
                    out.push(issue(format!(
                        "must be at most {max}, not {}",
                        scalar_text(node)
                    )));
                }
            }
            Value::Str(s) => {
                if let Some(msg) = ref_name.and_then(|r| format_check(r, s)) {
                    out.push(issue(msg));
                }
            }
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.walk(item, item.line, item_schema, &format!("{path}[{i}]"), out);
                    }
                }
            }
            Value::Map(entries) => {
                let empty = Map::new();
                let props = schema
                    .get("properties")
                    .and_then(Json::as_object)
                    .unwrap_or(&empty);
                let additional = schema.get("additionalProperties");
                for e in entries {
                    let p = join(path, &e.key);
                    if let Some(s) = props.get(&e.key) {
                        self.walk(&e.value, e.key_line, s, &p, out);
                    } else if additional == Some(&Json::Bool(false)) {
                        let known: Vec<&str> = props.keys().map(String::as_str).collect();
                        out.push(Issue {
                            path: p,
                            line: e.key_line,
                            message: format!(
                                "unknown field `{}`; expected one of {}",
                                e.key,
                                known.join(", ")
                            ),
                            unknown: true,
                        });
                    } else if let Some(s) = additional.filter(|a| a.is_object()) {
                        self.walk(&e.value, e.key_line, s, &p, out);
                    }
                }
                for r in schema
                    .get("required")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                {
                    if node.get(r).is_none() {
                        out.push(Issue {
                            path: join(path, r),
                            line,
                            message: "missing required field".into(),
                            unknown: false,
                        });
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Every field below `schema`, depth first, in the schema's property order.
    pub fn fields(&self, schema: &Json, prefix: &str, out: &mut Vec<crate::FieldDoc>) {
        let (schema, _) = self.resolve(schema);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .collect();
        let Some(props) = schema.get("properties").and_then(Json::as_object) else {
            return;
        };
        for (key, prop) in props {
            let path = join(prefix, key);
            let (ty, inner, description) = self.describe_field(prop);
            out.push(crate::FieldDoc {
                path: path.clone(),
                ty,
                required: required.contains(&key.as_str()),
                description,
            });
            // Nested objects (a list of links, a list of grants) get rows of their own.
            if let Some((inner, is_list)) = inner {
                let sub = if is_list { format!("{path}[]") } else { path };
                self.fields(inner, &sub, out);
            }
        }
    }

    /// A property's type in words, the object schema below it (if any, and whether it is
    /// reached through a list), and its description.
    fn describe_field<'a>(&'a self, prop: &'a Json) -> (String, Option<(&'a Json, bool)>, String) {
        let mut description = prop
            .get("description")
            .and_then(Json::as_str)
            .map(str::to_owned);
        // `Option<T>` with T a reference comes as `oneOf: [null, T]`.
        let mut prop = prop;
        if let Some(branches) = prop
            .get("oneOf")
            .or_else(|| prop.get("anyOf"))
            .and_then(Json::as_array)
        {
            let non_null: Vec<&Json> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Json::as_str) != Some("null"))
                .collect();
            if let [only] = non_null[..] {
                if description.is_none() {
                    description = only
                        .get("description")
                        .and_then(Json::as_str)
                        .map(str::to_owned);
                }
                prop = only;
            }
        }
        let (resolved, ref_name) = self.resolve(prop);
        if description.is_none() {
            description = resolved
                .get("description")
                .and_then(Json::as_str)
                .map(str::to_owned);
        }
        let description = description
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let (ty, inner) = self.type_in_words(resolved, ref_name);
        (ty, inner, description)
    }

    fn type_in_words<'a>(
        &'a self,
        s: &'a Json,
        ref_name: Option<&str>,
    ) -> (String, Option<(&'a Json, bool)>) {
        if let Some(values) = s.get("enum").and_then(Json::as_array) {
            let v: Vec<&str> = values.iter().filter_map(Json::as_str).collect();
            return (format!("one of {}", v.join(", ")), None);
        }
        if ref_name == Some("Name") {
            return ("name".into(), None);
        }
        let types = types_of(s).unwrap_or_default();
        let main = types
            .iter()
            .find(|t| **t != "null")
            .copied()
            .unwrap_or("any");
        match main {
            "array" => {
                let items = s.get("items").unwrap_or(&Json::Null);
                let (item, item_ref) = self.resolve(items);
                let (word, inner) = self.type_in_words(item, item_ref);
                let plural = if word.starts_with("one of") {
                    format!("list of ({word})")
                } else {
                    format!("list of {word}s")
                };
                (plural, inner.map(|(s, _)| (s, true)))
            }
            // An object type is named after its schema in words (`Link` is "link",
            // `BusinessHours` "business hours").
            "object" if s.get("properties").is_some() => (
                ref_name.map_or_else(|| "object".to_owned(), in_words),
                Some((s, false)),
            ),
            "object" => ("map of strings".into(), None),
            other => (other.to_owned(), None),
        }
    }
}

/// `BusinessHours` as "business hours".
fn in_words(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}
