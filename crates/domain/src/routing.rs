//! Team-level routing: one integration for a whole team (one Alertmanager receiver for a
//! whole company, say) whose rules send each event to one of the team's services.
//!
//! Rules are written with Prometheus Alertmanager's matcher syntax (`team="db"`,
//! `severity=~"critical|error"`, `env!="dev"`, `summary!~"(?i)test"`) and follow its
//! semantics: regexes are fully anchored and a missing label is the empty string.
//!
//! Longer than 600 lines because Alertmanager's matcher syntax and the rules built on it
//! are one parser, and nearly half the file is its tests.

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::catalog::{FieldError, Integration, IntegrationType, check_integration_key};
use crate::name::Name;

/// A team's router: events sent to its integrations go to the service of the first rule
/// that matches, or to `default`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    /// The team that owns the router.
    pub team: Name,
    /// Where events come in, as on a service: a name, a type (`pagerduty`,
    /// `alertmanager`, `generic`, `datadog` or `sentry`) and an optional key. shinrai
    /// generates a key when none is given and keeps it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<Integration>,
    /// Rules in order; the first whose matchers all match picks the service.
    #[serde(default)]
    pub rules: Vec<RouteRule>,
    /// The service for events no rule matches.
    pub default: Name,
}

/// Sends the events it matches to one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Alertmanager-style matchers, all of which must match: `team="db"`,
    /// `severity=~"critical"`, `team=~"db.*"`, `env!="dev"`, `summary!~"(?i)test"`. Regexes must
    /// match the whole value, and a missing label counts as empty. `summary`, `source`,
    /// `severity`, `component`, `group`, `class` and `dedup_key` are the event's fields;
    /// any other name is a label, and `labels.X` is always label X.
    pub when: Vec<String>,
    /// The service that gets the event.
    pub service: Name,
}

/// The integration types a router takes events for. A heartbeat watches one service, so
/// it is declared there.
pub const ROUTABLE: [IntegrationType; 5] = [
    IntegrationType::Pagerduty,
    IntegrationType::Alertmanager,
    IntegrationType::Generic,
    IntegrationType::Datadog,
    IntegrationType::Sentry,
];

impl RouterSpec {
    /// Every broken rule: bad integrations, and rules that do not parse.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, integration) in self.integrations.iter().enumerate() {
            if self.integrations[..i]
                .iter()
                .any(|o| o.name == integration.name)
            {
                errors.push(FieldError::new(
                    format!("integrations[{i}].name"),
                    format!("integration {} is listed twice", integration.name),
                ));
            }
            if !ROUTABLE.contains(&integration.kind) {
                let why = match integration.kind {
                    IntegrationType::Heartbeat => {
                        "a heartbeat belongs to one service; declare it on the service".to_owned()
                    }
                    other => format!(
                        "{} integrations cannot feed a router; supported: {}",
                        other.as_str(),
                        ROUTABLE.map(IntegrationType::as_str).join(", ")
                    ),
                };
                errors.push(FieldError::new(format!("integrations[{i}].type"), why));
            }
            if let Some(key) = &integration.key
                && let Err(why) = check_integration_key(key)
            {
                errors.push(FieldError::new(format!("integrations[{i}].key"), why));
            }
        }
        if let Err(rule_errors) = self.compile() {
            errors.extend(rule_errors);
        }
        errors
    }

    /// The services this router can send to (the rules' services, then the default),
    /// each once, in order.
    pub fn services(&self) -> Vec<Name> {
        let mut out: Vec<Name> = Vec::new();
        for name in self.rules.iter().map(|r| &r.service).chain([&self.default]) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    /// Parses every rule once, for routing many events. Fails with the errors of the
    /// rules (paths `rules[i].when` and `rules[i].when[j]`); the integrations do not take
    /// part in routing and are checked by [`RouterSpec::validate`].
    pub fn compile(&self) -> Result<CompiledRouter, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.when.is_empty() {
                errors.push(FieldError::new(
                    format!("rules[{i}].when"),
                    "name at least one matcher; use `default` for everything else",
                ));
                continue;
            }
            let mut matchers = Vec::with_capacity(rule.when.len());
            for (j, text) in rule.when.iter().enumerate() {
                match text.parse::<Matcher>() {
                    Ok(m) => matchers.push(m),
                    Err(why) => errors.push(FieldError::new(format!("rules[{i}].when[{j}]"), why)),
                }
            }
            rules.push((matchers, rule.service.clone()));
        }
        if errors.is_empty() {
            Ok(CompiledRouter {
                rules,
                default: self.default.clone(),
            })
        } else {
            Err(errors)
        }
    }
}

impl RouteRule {
    /// The rule's matchers, parsed; on failure, the index in `when` of the first that
    /// does not parse and why.
    pub fn matchers(&self) -> Result<Vec<Matcher>, (usize, String)> {
        self.when
            .iter()
            .enumerate()
            .map(|(j, text)| text.parse().map_err(|why| (j, why)))
            .collect()
    }
}

/// A router whose rules are parsed and whose regexes are compiled, ready to route.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledRouter {
    rules: Vec<(Vec<Matcher>, Name)>,
    default: Name,
}

impl CompiledRouter {
    /// The service for events no rule matches.
    pub fn default_service(&self) -> &Name {
        &self.default
    }

    /// The service an event goes to: the first matching rule's, or the default.
    pub fn route(&self, event: &dyn Fields) -> &Name {
        match self.matching_rule(event) {
            Some(i) => &self.rules[i].1,
            None => &self.default,
        }
    }

    /// The index of the rule that picks the service for an event, or `None` when the
    /// default gets it. Says why an event went where it did.
    pub fn matching_rule(&self, event: &dyn Fields) -> Option<usize> {
        self.rules
            .iter()
            .position(|(matchers, _)| matchers.iter().all(|m| m.matches(event)))
    }
}

/// What a rule can look at: an event's fields and labels.
pub trait Fields {
    /// One of the event's fields (see [`FIELDS`]), if the event has it.
    fn field(&self, name: &str) -> Option<&str>;
    /// One of the event's labels, if the event has it.
    fn label(&self, name: &str) -> Option<&str>;
}

/// The names a matcher reads with [`Fields::field`]; any other name is a label.
pub const FIELDS: [&str; 7] = [
    "summary",
    "source",
    "severity",
    "component",
    "group",
    "class",
    "dedup_key",
];

/// Written before a name to mean the label of that name even when a field has it too
/// (`labels.summary`).
pub const LABEL_PREFIX: &str = "labels.";

/// How a matcher compares a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`: equal.
    Eq,
    /// `!=`: not equal.
    NotEq,
    /// `=~`: the whole value matches the regex.
    Re,
    /// `!~`: the whole value does not match the regex.
    NotRe,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a matcher reads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Field(&'static str),
    Label(String),
}

/// One Alertmanager-style matcher, `name<op>value`, with its regex compiled.
#[derive(Clone)]
pub struct Matcher {
    name: String,
    target: Target,
    op: Op,
    value: String,
    /// `^(?:value)$`, for `=~` and `!~`.
    regex: Option<Regex>,
}

impl Matcher {
    /// The name as written (`severity`, `team`, `labels.summary`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> Op {
        self.op
    }

    /// The value, unquoted and unescaped; for `=~` and `!~`, the regex as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the event satisfies the matcher. A missing field or label is the empty
    /// string.
    pub fn matches(&self, event: &dyn Fields) -> bool {
        let got = match &self.target {
            Target::Field(name) => event.field(name),
            Target::Label(name) => event.label(name),
        }
        .unwrap_or("");
        match (self.op, &self.regex) {
            (Op::Eq, _) => got == self.value,
            (Op::NotEq, _) => got != self.value,
            (Op::Re, Some(re)) => re.is_match(got),
            (Op::NotRe, Some(re)) => !re.is_match(got),
            // Parsing compiles a regex for every `=~` and `!~`.
            (Op::Re | Op::NotRe, None) => false,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        // The target and the regex follow from these.
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("name", &self.name)
            .field("op", &self.op)
            .field("value", &self.value)
            .finish()
    }
}

/// Prints the matcher in the form it parses from, with the value quoted:
/// `team="db"`, `summary!~"(?i)test"`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op)?;
        for c in self.value.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

const NAME_CHARS: &str = "letters, digits, '_', '.', '-' and '/'";

impl FromStr for Matcher {
    type Err = String;

    /// Parses `name<op>value` as Alertmanager does: `op` is `=`, `!=`, `=~` or `!~`,
    /// whitespace around the parts is ignored, and the value is bare or double-quoted
    /// (`\"`, `\\` and `\n` are escapes; any other backslash is kept, so regexes such as
    /// `"\d+"` read as written).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err("empty matcher; write one such as team=\"db\"".to_owned());
        }
        let name_end = text.find(|c| !is_name_char(c)).unwrap_or(text.len());
        let name = &text[..name_end];
        let rest = &text[name_end..];
        let after = rest.trim_start();
        let (op, raw) = if let Some(v) = after.strip_prefix("=~") {
            (Op::Re, v)
        } else if let Some(v) = after.strip_prefix("!=") {
            (Op::NotEq, v)
        } else if let Some(v) = after.strip_prefix("!~") {
            (Op::NotRe, v)
        } else if let Some(v) = after.strip_prefix('=') {
            (Op::Eq, v)
        } else if name.is_empty() {
            return Err(format!(
                "{text:?} must start with a field or label name ({NAME_CHARS})"
            ));
        } else if after.is_empty() || after.len() < rest.len() {
            let n = name;
            return Err(format!(
                "{text:?} has no operator; write {n}=\"db\", {n}!=\"db\", {n}=~\"db|storage\" or {n}!~\"test.*\""
            ));
        } else {
            let c = after.chars().next().unwrap_or_default();
            return Err(format!(
                "{text:?}: {c:?} is neither part of a name ({NAME_CHARS}) nor an operator (=, !=, =~ or !~)"
            ));
        };
        if name.is_empty() {
            return Err(format!(
                "{text:?} has no name before {op}; write a field or label name first, as in team{op}\"db\""
            ));
        }
        let target = if let Some(label) = name.strip_prefix(LABEL_PREFIX) {
            if label.is_empty() {
                return Err(format!(
                    "{text:?}: {LABEL_PREFIX:?} must be followed by a label name, as in labels.summary"
                ));
            }
            Target::Label(label.to_owned())
        } else if let Some(field) = FIELDS.iter().find(|f| **f == name) {
            Target::Field(field)
        } else {
            Target::Label(name.to_owned())
        };
        let value = unquote(raw.trim()).map_err(|why| {
            if op == Op::Eq && raw.trim_start().starts_with('=') {
                format!("{text:?}: {why}; equality is a single '=', as in {name}=\"db\"")
            } else {
                format!("{text:?}: {why}")
            }
        })?;
        let regex = match op {
            Op::Eq | Op::NotEq => None,
            Op::Re | Op::NotRe => Some(
                compile_regex(&value).map_err(|why| format!("invalid regex in {text:?}: {why}"))?,
            ),
        };
        Ok(Matcher {
            name: name.to_owned(),
            target,
            op,
            value,
            regex,
        })
    }
}

/// Unquotes a value as Alertmanager does: a leading `"` needs a closing one at the very
/// end; `\"`, `\\` and `\n` are escapes and any other backslash is literal.
fn unquote(raw: &str) -> Result<String, String> {
    let (body, quoted) = match raw.strip_prefix('"') {
        Some(body) => (body, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut closed = false;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, c @ ('"' | '\\'))) => value.push(c),
                Some((_, c)) => {
                    value.push('\\');
                    value.push(c);
                }
                None => value.push('\\'),
            },
            '"' if quoted && i + 1 == body.len() => closed = true,
            '"' => {
                return Err(
                    "the value holds a '\"' that is not escaped; write \\\" inside a quoted value"
                        .to_owned(),
                );
            }
            c => value.push(c),
        }
    }
    if quoted && !closed {
        return Err("the quoted value has no closing '\"'".to_owned());
    }
    Ok(value)
}

/// Compiles `^(?:re)$`. The regex is first checked on its own, so that a value such as
/// `a)|(b` cannot escape the anchors and errors point into what was written.
fn compile_regex(re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(regex_message)?;
    Regex::new(&format!("^(?:{re})$")).map_err(regex_message)
}

/// The regex crate's error on one line: its last `error: …` line, without the drawing of
/// the pattern above it.
fn regex_message(e: regex::Error) -> String {
    match &e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(s)
            .to_owned(),
        regex::Error::CompiledTooBig(_) => "the regex is too big".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Default)]
    struct Event {
        fields: BTreeMap<&'static str, &'static str>,
        labels: BTreeMap<&'static str, &'static str>,
    }

    impl Event {
        fn labels(pairs: &[(&'static str, &'static str)]) -> Self {
            Event {
                fields: BTreeMap::new(),
                labels: pairs.iter().copied().collect(),
            }
        }

        fn field(mut self, name: &'static str, value: &'static str) -> Self {
            self.fields.insert(name, value);
            self
        }
    }

    impl Fields for Event {
        fn field(&self, name: &str) -> Option<&str> {
            self.fields.get(name).copied()
        }
        fn label(&self, name: &str) -> Option<&str> {
            self.labels.get(name).copied()
        }
    }

    fn m(s: &str) -> Matcher {
        s.parse()
            .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn err(s: &str) -> String {
        s.parse::<Matcher>()
            .expect_err(&format!("{s:?} should not parse"))
    }

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn parses_each_operator() {
        for (text, op) in [
            ("team=\"db\"", Op::Eq),
            ("team!=\"db\"", Op::NotEq),
            ("team=~\"db\"", Op::Re),
            ("team!~\"db\"", Op::NotRe),
        ] {
            let matcher = m(text);
            assert_eq!(matcher.name(), "team");
            assert_eq!(matcher.op(), op, "{text}");
            assert_eq!(matcher.value(), "db");
            assert_eq!(matcher.to_string(), text, "prints as it parses");
        }
    }

    #[test]
    fn values_may_be_bare_or_quoted_with_whitespace_around() {
        assert_eq!(m("team=db"), m("team=\"db\""));
        assert_eq!(m("  team  =  db  "), m("team=\"db\""));
        assert_eq!(m(" team =~ \"db|storage\" ").value(), "db|storage");
        assert_eq!(m("summary=\"disk full\"").value(), "disk full");
        assert_eq!(m("summary=disk full").value(), "disk full");
        assert_eq!(m("summary=\" padded \"").value(), " padded ");
        assert_eq!(m("env=").value(), "");
        assert_eq!(m("env=\"\"").value(), "");
        assert_eq!(m("a=~b=c").value(), "b=c");
        assert_eq!(
            m("a!=~b").op(),
            Op::NotEq,
            "leftmost operator, as Alertmanager"
        );
        assert_eq!(m("a!=~b").value(), "~b");
    }

    #[test]
    fn escapes_follow_alertmanager() {
        assert_eq!(m(r#"s="say \"hi\"""#).value(), r#"say "hi""#);
        assert_eq!(m(r#"s="back\\slash""#).value(), r"back\slash");
        assert_eq!(m(r#"s="two\nlines""#).value(), "two\nlines");
        assert_eq!(m(r#"s=~"\d+""#).value(), r"\d+", "other escapes stay");
        assert_eq!(m(r"s=trailing\").value(), r"trailing\");
        for text in [
            r#"s="say \"hi\"""#,
            r#"s=~"\d+""#,
            "s=\"two\nlines\"",
            r"s=back\slash",
        ] {
            let matcher = m(text);
            assert_eq!(m(&matcher.to_string()), matcher, "{text} round-trips");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            err("team"),
            "\"team\" has no operator; write team=\"db\", team!=\"db\", team=~\"db|storage\" or team!~\"test.*\""
        );
        assert!(err("team db").contains("has no operator"));
        assert!(err("").contains("empty matcher"));
        assert!(err("   ").contains("empty matcher"));
        assert!(err("=\"db\"").contains("has no name before ="));
        assert!(err("\"team\"=db").contains("must start with a field or label name"));
        assert!(err("team~=\"db\"").contains("'~' is neither part of a name"));
        assert!(err("team:x=\"db\"").contains("':' is neither part of a name"));
        assert!(err("labels.=x").contains("must be followed by a label name"));
        assert!(err("team=\"db").contains("no closing"));
        assert!(err("team=d\"b").contains("not escaped"));
        assert!(err("team=\"d\"b\"").contains("not escaped"));
        assert!(err("team==\"db\"").contains("equality is a single '='"));
        assert_eq!(err("x=~("), "invalid regex in \"x=~(\": unclosed group");
        assert!(
            err("x=~\"a)|(b\"").starts_with("invalid regex"),
            "cannot escape the anchors"
        );
        assert!(err("x!~\"[z-a]\"").starts_with("invalid regex in \"x!~\\\"[z-a]\\\"\": "));
    }

    #[test]
    fn regexes_are_anchored() {
        let db = Event::labels(&[("team", "db")]);
        let dbx = Event::labels(&[("team", "dbx")]);
        let xdb = Event::labels(&[("team", "xdb")]);
        assert!(m("team=~\"db\"").matches(&db));
        assert!(!m("team=~\"db\"").matches(&dbx));
        assert!(!m("team=~\"db\"").matches(&xdb));
        assert!(m("team=~\"db|storage\"").matches(&db));
        assert!(
            !m("team=~\"db|storage\"").matches(&dbx),
            "the alternation too"
        );
        assert!(m("team=~\"db.*\"").matches(&dbx));
        assert!(m("team!~\"db\"").matches(&dbx));
        assert!(!m("team!~\"db\"").matches(&db));
        let test = Event::default().field("summary", "A Test alert");
        assert!(m("summary=~\"(?i).*test.*\"").matches(&test));
        assert!(!m("summary!~\"(?i).*test.*\"").matches(&test));
    }

    #[test]
    fn a_missing_label_is_empty() {
        let none = Event::default();
        let dev = Event::labels(&[("env", "dev")]);
        assert!(m("env!=\"dev\"").matches(&none));
        assert!(!m("env!=\"dev\"").matches(&dev));
        assert!(m("env=\"\"").matches(&none));
        assert!(!m("env=\"\"").matches(&dev));
        assert!(!m("env=\"dev\"").matches(&none));
        assert!(m("env=~\"dev|\"").matches(&none));
        assert!(m("env=~\".*\"").matches(&none));
        assert!(!m("env=~\".+\"").matches(&none));
        assert!(m("env!~\".+\"").matches(&none));
    }

    #[test]
    fn fields_labels_and_labels_prefix() {
        let event = Event::labels(&[("summary", "from a label"), ("team", "db")])
            .field("summary", "from the field")
            .field("severity", "critical")
            .field("dedup_key", "k1");
        assert!(m("summary=\"from the field\"").matches(&event));
        assert!(m("labels.summary=\"from a label\"").matches(&event));
        assert!(!m("labels.summary=\"from the field\"").matches(&event));
        assert!(m("severity=critical").matches(&event));
        assert!(m("dedup_key=k1").matches(&event));
        assert!(m("team=db").matches(&event), "not a field: a label");
        assert!(m("labels.team=db").matches(&event));
        assert!(
            m("labels.severity=\"\"").matches(&event),
            "no label called severity"
        );
        assert_eq!(m("labels.summary=x").name(), "labels.summary");
        assert!(
            m("app.kubernetes.io/name=web")
                .matches(&Event::labels(&[("app.kubernetes.io/name", "web")]))
        );
    }

    fn router() -> RouterSpec {
        serde_json::from_value(serde_json::json!({
            "team": "sre",
            "integrations": [{"name": "alertmanager", "type": "alertmanager"}],
            "rules": [
                {"when": ["team=\"db\"", "severity=~\"critical|error\""], "service": "postgres"},
                {"when": ["team=~\"db|storage\""], "service": "storage"},
                {"when": ["env!=\"dev\"", "summary!~\"(?i).*test.*\""], "service": "web"},
                {"when": ["team=db"], "service": "never"}
            ],
            "default": "triage"
        }))
        .unwrap()
    }

    #[test]
    fn first_matching_rule_wins_and_the_default_takes_the_rest() {
        let spec = router();
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        let router = spec.compile().unwrap();
        let route = |e: &Event| router.route(e).as_str().to_owned();

        let db_critical =
            Event::labels(&[("team", "db"), ("env", "dev")]).field("severity", "critical");
        assert_eq!(route(&db_critical), "postgres");
        assert_eq!(router.matching_rule(&db_critical), Some(0));

        let db_warning =
            Event::labels(&[("team", "db"), ("env", "dev")]).field("severity", "warning");
        assert_eq!(
            route(&db_warning),
            "storage",
            "the first rule needs both matchers"
        );

        let web = Event::labels(&[("env", "prod")]).field("summary", "5xx rate high");
        assert_eq!(route(&web), "web");
        let unlabelled = Event::default().field("summary", "5xx rate high");
        assert_eq!(route(&unlabelled), "web", "a missing env is not dev");

        let test = Event::labels(&[("env", "prod")]).field("summary", "TEST page");
        assert_eq!(route(&test), "triage");
        assert_eq!(router.matching_rule(&test), None);
        let dev = Event::labels(&[("env", "dev")]);
        assert_eq!(route(&dev), "triage");
    }

    #[test]
    fn services_are_distinct_and_in_order() {
        let mut spec = router();
        assert_eq!(
            spec.services(),
            ["postgres", "storage", "web", "never", "triage"].map(name)
        );
        spec.default = name("storage");
        spec.rules[3].service = name("postgres");
        assert_eq!(spec.services(), ["postgres", "storage", "web"].map(name));
        spec.rules.clear();
        assert_eq!(spec.services(), [name("storage")]);
    }

    #[test]
    fn validation_reports_paths() {
        let spec: RouterSpec = serde_json::from_value(serde_json::json!({
            "team": "sre",
            "integrations": [
                {"name": "am", "type": "alertmanager"},
                {"name": "am", "type": "generic", "key": "short"},
                {"name": "beat", "type": "heartbeat"},
                {"name": "sentry", "type": "sentry", "key": "0123456789abcdef"}
            ],
            "rules": [
                {"when": ["team=db", "severity", "x=~("], "service": "db"},
                {"when": [], "service": "web"},
                {"when": ["ok=yes"], "service": "web"}
            ],
            "default": "triage"
        }))
        .unwrap();
        let errors = spec.validate();
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "integrations[1].name",
                "integrations[1].key",
                "integrations[2].type",
                "rules[0].when[1]",
                "rules[0].when[2]",
                "rules[1].when",
            ]
        );
        assert_eq!(
            errors[2].message,
            "a heartbeat belongs to one service; declare it on the service"
        );
        assert_eq!(
            errors[5].message,
            "name at least one matcher; use `default` for everything else"
        );
        let compile_paths: Vec<_> = spec
            .compile()
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            compile_paths,
            ["rules[0].when[1]", "rules[0].when[2]", "rules[1].when"]
        );
        assert_eq!(spec.rules[0].matchers().unwrap_err().0, 1);
        assert_eq!(spec.rules[2].matchers().unwrap(), [m("ok=yes")]);
    }

    #[test]
    fn round_trips_through_json_and_rejects_unknown_fields() {
        let spec = router();
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            json["rules"][0]["when"],
            serde_json::json!(["team=\"db\"", "severity=~\"critical|error\""]),
            "matchers stay as written"
        );
        let back: RouterSpec = serde_json::from_value(json).unwrap();
        assert_eq!(back, spec);

        let minimal: RouterSpec =
            serde_json::from_value(serde_json::json!({"team": "sre", "default": "triage"}))
                .unwrap();
        assert!(minimal.integrations.is_empty() && minimal.rules.is_empty());
        assert!(minimal.validate().is_empty());
        assert_eq!(
            minimal.compile().unwrap().route(&Event::default()),
            &name("triage")
        );

        let unknown = serde_json::json!({"team": "sre", "default": "triage", "fallback": "x"});
        let e = serde_json::from_value::<RouterSpec>(unknown).unwrap_err();
        assert!(e.to_string().contains("unknown field `fallback`"), "{e}");
        let unknown_in_rule = serde_json::json!({
            "team": "sre", "default": "triage",
            "rules": [{"when": ["a=b"], "service": "x", "continue": true}]
        });
        assert!(serde_json::from_value::<RouterSpec>(unknown_in_rule).is_err());
        let bad_name = serde_json::json!({"team": "sre", "default": "Triage"});
        assert!(serde_json::from_value::<RouterSpec>(bad_name).is_err());
    }
}
