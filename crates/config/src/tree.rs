//! The spanned tree: YAML (or JSON) values with the line of every value and every mapping
//! key, so that each problem can point at the line a person has to edit.
//!
//! saphyr's nodes carry spans, but its mappings are hash maps keyed by nodes and its
//! scalars come in several representations; this small tree is what the rest of the crate
//! walks instead.

use std::collections::BTreeMap;

use saphyr::{MarkedYamlOwned, ScalarOwned, YamlDataOwned};

/// One value and the (1-based) line it starts on. Values that did not come from YAML (the
/// REST API hands JSON) carry line 0.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry, with the line of its key: problems about a field point there.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_line: usize,
    pub value: Node,
}

impl Node {
    /// Converts a saphyr node. What cannot be represented (complex mapping keys, values
    /// saphyr could not resolve) is reported as `(line, message)` and replaced by null.
    pub fn from_yaml(y: &MarkedYamlOwned, issues: &mut Vec<(usize, String)>) -> Node {
        Node::from_yaml_at(y, y.span.start.line(), issues)
    }

    fn from_yaml_at(y: &MarkedYamlOwned, line: usize, issues: &mut Vec<(usize, String)>) -> Node {
        let value = match &y.data {
            YamlDataOwned::Value(s) => scalar(s),
            // Only produced when saphyr is asked not to resolve scalars; treat as text.
            YamlDataOwned::Representation(s, _, _) => Value::Str(s.clone()),
            YamlDataOwned::Sequence(items) => Value::Seq(
                items
                    .iter()
                    .map(|i| Node::from_yaml_at(i, i.span.start.line(), issues))
                    .collect(),
            ),
            YamlDataOwned::Mapping(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let key_line = k.span.start.line();
                    let key = match &k.data {
                        YamlDataOwned::Value(ScalarOwned::String(s)) => s.clone(),
                        YamlDataOwned::Value(ScalarOwned::Integer(i)) => i.to_string(),
                        YamlDataOwned::Value(ScalarOwned::Boolean(b)) => b.to_string(),
                        YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) => f.to_string(),
                        YamlDataOwned::Value(ScalarOwned::Null) => "null".to_owned(),
                        YamlDataOwned::Representation(s, _, _) => s.clone(),
                        _ => {
                            issues.push((key_line, "mapping keys must be plain strings".into()));
                            continue;
                        }
                    };
                    let value = Node::from_yaml_at(v, v.span.start.line(), issues);
                    entries.push(Entry {
                        key,
                        key_line,
                        value,
                    });
                }
                Value::Map(entries)
            }
            // saphyr leaves the tagged node's own span empty; the outer line is the one.
            YamlDataOwned::Tagged(_, inner) => Node::from_yaml_at(inner, line, issues).value,
            YamlDataOwned::Alias(_) | YamlDataOwned::BadValue => {
                issues.push((line, "this value could not be read".into()));
                Value::Null
            }
        };
        Node { line, value }
    }

    /// Converts JSON (from the REST API); every line is 0.
    pub fn from_json(v: &serde_json::Value) -> Node {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        key_line: 0,
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node { line: 0, value }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => s.clone().into(),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// A short description for "expected …, found …" messages.
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

fn scalar(s: &ScalarOwned) -> Value {
    match s {
        ScalarOwned::Null => Value::Null,
        ScalarOwned::Boolean(b) => Value::Bool(*b),
        ScalarOwned::Integer(i) => Value::Int(*i),
        ScalarOwned::FloatingPoint(f) => Value::Float(f.into_inner()),
        ScalarOwned::String(s) => Value::Str(s.clone()),
    }
}

/// Appends a key to a dotted path.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The line of every field of one document, keyed by its path from the document root
/// (`spec.members[1]`, `metadata.name`). Fields reached through a key point at the key's
/// line; list items at the item's line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldLines(BTreeMap<String, usize>);

impl FieldLines {
    pub(crate) fn of(root: &Node) -> FieldLines {
        let mut map = BTreeMap::new();
        map.insert(String::new(), root.line);
        collect(root, "", &mut map);
        FieldLines(map)
    }

    /// The line of `path`, or of its nearest ancestor that exists (a field that is
    /// missing is reported where its parent is).
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.0.get(p) {
                return Some(*l);
            }
            if p.is_empty() {
                return None;
            }
            p = parent(p);
        }
    }
}

/// `a.b[2]` -> `a.b` -> `a` -> ``.
fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

fn collect(node: &Node, path: &str, map: &mut BTreeMap<String, usize>) {
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key);
                map.insert(p.clone(), e.key_line);
                collect(&e.value, &p, map);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                map.insert(p.clone(), item.line);
                collect(item, &p, map);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor() {
        let lines = FieldLines(BTreeMap::from([
            (String::new(), 1),
            ("spec".to_owned(), 4),
            ("spec.roles".to_owned(), 7),
            ("spec.roles[0]".to_owned(), 8),
        ]));
        assert_eq!(lines.line_of("spec.roles[0].company"), Some(8));
        assert_eq!(lines.line_of("spec.roles[3]"), Some(7));
        assert_eq!(lines.line_of("metadata.name"), Some(1));
    }
}
