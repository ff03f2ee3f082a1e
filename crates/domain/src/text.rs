//! Outside text made safe to keep: what senders, receivers and people write reaches the
//! store only through this module.
//!
//! Two kinds of text come from outside. Free text (summaries, sources, custom details
//! and labels, notes, a provider's answer) is *cleaned*: a NUL character, which
//! PostgreSQL cannot store in a text column, becomes U+FFFD (the replacement
//! character), bytes that are not UTF-8 are read the same way, and values longer than
//! their stated limit are cut at a character boundary. Keys and names (a dedup key, a
//! group key) identify things, so changing them would change what they name: one that
//! contains NUL is *refused* with an error that names the field.
//!
//! Architecture invariant: the same rules hold on every backend. SQLite could keep a
//! NUL where PostgreSQL cannot; neither is asked to. The store applies [`clean`] and
//! [`check_key`] again on every write (defence in depth), so a writer that skips the
//! boundary still never makes a transaction fail over one value.

use std::borrow::Cow;

use serde_json::Value;

/// What replaces a NUL or bytes that are not UTF-8.
pub const REPLACEMENT: char = '\u{FFFD}';

/// The longest summary kept (an alert's, an incident's, a change's), in characters, as
/// PagerDuty keeps it.
pub const MAX_SUMMARY: usize = 1024;
/// The longest key accepted (a dedup key, a group key), in characters; longer ones are
/// refused, not cut, because a cut key would name another alert.
pub const MAX_KEY: usize = 255;
/// The longest short field kept (an alert's source, component, group, class, client, a
/// link or an image), in characters.
pub const MAX_FIELD: usize = 2048;
/// The longest string kept inside an alert's custom details or labels (each value and
/// each key), in characters. The whole body is bounded by the endpoint's body limit.
pub const MAX_DETAIL: usize = 8192;
/// The longest note kept on an incident's timeline, in characters.
pub const MAX_NOTE: usize = 10_000;
/// The longest answer or error of a provider kept for a delivery, in characters.
pub const MAX_ANSWER: usize = 1000;

/// Free text as it may be kept: NUL replaced, cut to `max` characters. Borrows when the
/// text is already fine, which is nearly always.
pub fn clean(s: &str, max: usize) -> Cow<'_, str> {
    let cut = s.char_indices().nth(max).map(|(at, _)| at);
    let head = &s[..cut.unwrap_or(s.len())];
    if head.contains('\0') {
        Cow::Owned(head.replace('\0', &REPLACEMENT.to_string()))
    } else {
        Cow::Borrowed(head)
    }
}

/// [`clean`] for an owned string, without copying when it is already fine.
pub fn clean_owned(mut s: String, max: usize) -> String {
    clean_in_place(&mut s, max);
    s
}

/// [`clean`] in place.
pub fn clean_in_place(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
    if s.contains('\0') {
        *s = s.replace('\0', "\u{FFFD}");
    }
}

/// Bytes from outside (a provider's reply) as free text: what is not UTF-8 read as
/// U+FFFD, then [`clean`].
pub fn clean_bytes(b: &[u8], max: usize) -> String {
    clean_owned(String::from_utf8_lossy(b).into_owned(), max)
}

/// Every string in a JSON value, object keys included, cleaned to `max` characters
/// each (custom details, labels). Two keys that clean to the same text keep the later
/// value.
pub fn clean_json(v: &mut Value, max: usize) {
    match v {
        Value::String(s) => clean_in_place(s, max),
        Value::Array(items) => items.iter_mut().for_each(|i| clean_json(i, max)),
        Value::Object(map) => {
            let dirty = map
                .keys()
                .any(|k| k.contains('\0') || k.chars().nth(max).is_some());
            if dirty {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    clean_json(&mut val, max);
                    map.insert(clean_owned(k, max), val);
                }
            } else {
                map.values_mut().for_each(|i| clean_json(i, max));
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A key or name that cannot be kept, and the field it came in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("'{field}' contains a NUL character, which shinrai does not accept in keys")]
    Nul { field: String },
    #[error("'{field}' is longer than {max} characters")]
    TooLong { field: String, max: usize },
}

impl TextError {
    /// The field at fault, as the sender or caller named it.
    pub fn field(&self) -> &str {
        match self {
            TextError::Nul { field } | TextError::TooLong { field, .. } => field,
        }
    }
}

/// Checks a key (a dedup key, a group key) that came in `field`: refused when it
/// contains NUL. Length is checked by [`check_key_length`], where a format has its own
/// limit.
pub fn check_key(field: &str, key: &str) -> Result<(), TextError> {
    if key.contains('\0') {
        return Err(TextError::Nul {
            field: field.to_owned(),
        });
    }
    Ok(())
}

/// [`check_key`], and at most [`MAX_KEY`] characters.
pub fn check_key_length(field: &str, key: &str) -> Result<(), TextError> {
    check_key(field, key)?;
    if key.chars().nth(MAX_KEY).is_some() {
        return Err(TextError::TooLong {
            field: field.to_owned(),
            max: MAX_KEY,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn free_text_keeps_its_meaning_without_nul_and_within_its_limit() {
        assert!(matches!(
            clean("disk full", 100),
            Cow::Borrowed("disk full")
        ));
        assert_eq!(clean("a\0b", 100), "a\u{FFFD}b");
        assert_eq!(clean("信頼信頼", 2), "信頼", "cut at a character boundary");
        assert_eq!(clean("ab\0", 2), "ab", "cut before cleaning");
        assert_eq!(clean_owned("x\0".into(), 10), "x\u{FFFD}");
        let mut s = String::from("héllo");
        clean_in_place(&mut s, 2);
        assert_eq!(s, "hé");
        assert_eq!(clean_bytes(b"ok \xff\0", 10), "ok \u{FFFD}\u{FFFD}");
    }

    #[test]
    fn json_is_cleaned_at_every_depth_keys_included() {
        let mut v = json!({"l": {"a\u{0}b": "c\u{0}", "n": 1}, "xs": ["x\u{0}", {"k": "longer"}],
                           "keylong": "v", "ok": null});
        clean_json(&mut v, 4);
        assert_eq!(
            v,
            json!({"l": {"a\u{FFFD}b": "c\u{FFFD}", "n": 1}, "xs": ["x\u{FFFD}", {"k": "long"}],
                   "keyl": "v", "ok": null})
        );
    }

    #[test]
    fn keys_with_nul_or_too_long_are_refused_naming_the_field() {
        assert_eq!(check_key("dedup_key", "db1/disk"), Ok(()));
        let e = check_key("dedup_key", "db\0one").unwrap_err();
        assert_eq!(e.field(), "dedup_key");
        assert_eq!(
            e.to_string(),
            "'dedup_key' contains a NUL character, which shinrai does not accept in keys"
        );
        assert_eq!(
            check_key_length("incident_key", &"k".repeat(256)),
            Err(TextError::TooLong {
                field: "incident_key".into(),
                max: 255
            })
        );
        assert_eq!(check_key_length("incident_key", &"k".repeat(255)), Ok(()));
    }
}
