//! An alert's body as the incident page shows it: the sender's details as key/value
//! rows (nested keys dotted, long values folded), its links and images, and who sent it.
//! The template escapes every text; here only http(s) addresses become links, and only
//! images from the allowed origins become images (the rest are links to them).

use paging::event::AlertBody;
use serde_json::{Value, json};

/// A value longer than this (or of several lines) is folded on the page.
const FOLD_AT: usize = 120;

/// Checks one allowed image origin (`https://grafana.example`, `https://host:3000`) and
/// gives it as the Content Security Policy and [`view`] compare it: lower case, no
/// trailing `/`. Only https, a host and an optional port: no path, user or wildcard.
pub fn image_host(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
    let Some(host) = s.strip_prefix("https://") else {
        return Err(format!(
            "{s:?} is not an https origin (https://grafana.example)"
        ));
    };
    let ok = !host.is_empty()
        && !host.starts_with(':')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !ok {
        return Err(format!(
            "{s:?} is not an https origin: give only https:// and a host, with an optional port (https://grafana.example:3000)"
        ));
    }
    Ok(s)
}

/// Whether `url` is an http or https address, the only ones shown as links.
pub fn is_web(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Whether `src` is on one of the allowed origins (`https://grafana.example/...`).
fn allowed_image(src: &str, hosts: &[String]) -> bool {
    hosts.iter().any(|h| {
        src.get(..h.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(h))
            && matches!(src.as_bytes().get(h.len()), None | Some(b'/' | b'?' | b'#'))
    })
}

/// The custom details as rows: nested objects and lists flattened to dotted keys
/// (`db.host`, `hosts.0`), strings as they are, other values as JSON.
pub fn detail_rows(details: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            }
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    walk(&key(k), v, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, v) in a.iter().enumerate() {
                    walk(&key(&i.to_string()), v, out);
                }
            }
            Value::Null if prefix.is_empty() => {}
            Value::String(s) if prefix.is_empty() => out.push(("details".into(), s.clone())),
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            other if prefix.is_empty() => out.push(("details".into(), other.to_string())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", details, &mut out);
    out
}

/// What the incident page shows of one alert's body.
pub fn view(body: &AlertBody, image_hosts: &[String]) -> Value {
    let web = |u: &Option<String>| u.as_deref().filter(|u| is_web(u)).map(str::to_owned);
    json!({
        "source": body.source,
        "component": body.component,
        "group": body.group,
        "class": body.class,
        "client": body.client,
        "client_url": web(&body.client_url),
        "client_url_text": body.client_url.as_deref().filter(|u| !is_web(u)),
        "details": detail_rows(&body.details).into_iter().map(|(k, v)| {
            let fold = v.chars().count() > FOLD_AT || v.contains('\n');
            let first = v.lines().next().unwrap_or_default();
            let short = format!("{}…", first.chars().take(FOLD_AT / 2).collect::<String>());
            json!({"key": k, "value": v, "fold": fold, "short": short})
        }).collect::<Vec<_>>(),
        "links": body.links.iter().map(|l| json!({
            "href": is_web(&l.href).then_some(&l.href),
            "text": l.text.as_deref().filter(|t| !t.is_empty()).unwrap_or(&l.href),
        })).collect::<Vec<_>>(),
        "images": body.images.iter().map(|i| json!({
            "src": (is_web(&i.src) && allowed_image(&i.src, image_hosts)).then_some(&i.src),
            "href": web(&i.href).or_else(|| is_web(&i.src).then(|| i.src.clone())),
            "text": i.alt.as_deref().filter(|t| !t.is_empty()).unwrap_or(&i.src),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_origins_are_allowed_image_hosts() {
        assert_eq!(
            image_host("HTTPS://Grafana.example/").unwrap(),
            "https://grafana.example"
        );
        assert!(image_host("https://g.example:3000").is_ok());
        for bad in [
            "http://g.example",
            "https://g.example/path",
            "https://u@g.example",
            "https://*.example",
            "https://",
            "g.example",
        ] {
            assert!(image_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_image_is_allowed_only_on_the_exact_origin() {
        let hosts = vec!["https://g.example".to_owned()];
        assert!(allowed_image("https://g.example/a.png", &hosts));
        assert!(allowed_image("https://G.example?x", &hosts));
        assert!(!allowed_image("https://g.example.evil/a.png", &hosts));
        assert!(!allowed_image("https://g.example@evil/a.png", &hosts));
        assert!(!allowed_image("https://g.example:444/a.png", &hosts));
        assert!(!allowed_image("http://g.example/a.png", &hosts));
    }

    #[test]
    fn the_policy_lists_exactly_the_valid_image_hosts() {
        let csp = crate::console::content_security_policy(&[
            "https://g.example".into(),
            "https://x.example; script-src *".into(),
        ]);
        assert!(
            csp.contains("img-src 'self' data: https://g.example;"),
            "{csp}"
        );
        assert!(
            !csp.contains("x.example") && !csp.contains("script-src *"),
            "{csp}"
        );
        assert_eq!(
            crate::console::content_security_policy(&[]),
            crate::console::CONTENT_SECURITY_POLICY
        );
    }

    #[test]
    fn nested_details_become_dotted_keys() {
        let rows = detail_rows(&json!({"db": {"host": "h", "ports": [1, 2]}, "n": null}));
        assert_eq!(
            rows,
            vec![
                ("db.host".into(), "h".into()),
                ("db.ports.0".into(), "1".into()),
                ("db.ports.1".into(), "2".into()),
                ("n".into(), "null".into()),
            ]
        );
        assert!(detail_rows(&Value::Null).is_empty());
        assert_eq!(
            detail_rows(&json!("text")),
            vec![("details".into(), "text".into())]
        );
    }
}
