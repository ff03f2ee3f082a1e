//! Signed, single-purpose, expiring links for acting on an incident from an email or an
//! SMS: `{public_url}/l/{action}/{token}`. The token names the incident, the action, the
//! person, when it expires and a nonce, signed with HMAC-SHA256 under a secret every node
//! shares (kept in the store, sealed). A GET only shows a confirmation page (mail scanners follow
//! links); a POST acts, once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::mac::Mac;
use domain::{Name, Timestamp};

/// The name of the server secret links are signed with (sealed in the store, see
/// [`crate::sealed`]).
pub const SECRET_NAME: &str = "links";

/// What a link does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkAction {
    Acknowledge,
    Resolve,
}

impl LinkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "ack",
            LinkAction::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<LinkAction> {
        match s {
            "ack" => Some(LinkAction::Acknowledge),
            "resolve" => Some(LinkAction::Resolve),
            _ => None,
        }
    }
}

/// What a valid token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub incident: i64,
    pub action: LinkAction,
    /// Who the link was sent to: the timeline names them.
    pub user: Name,
    pub expires: Timestamp,
    pub nonce: String,
}

/// Why a link is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid: it was changed, or it was not made by this shinrai")]
    Invalid,
    #[error("this link is for another action")]
    WrongAction,
    #[error("this link has expired")]
    Expired,
}

/// How long a link works.
pub const LINK_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

fn sign(secret: &[u8], payload: &str) -> String {
    let mut mac = domain::mac::hmac::<sha2::Sha256>(secret);
    mac.update(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A token for `link`.
pub fn token(secret: &[u8], link: &Link) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!(
        "{}|{}|{}|{}|{}",
        link.incident,
        link.action.as_str(),
        link.user,
        link.expires.as_second(),
        link.nonce
    ));
    let sig = sign(secret, &payload);
    format!("{payload}.{sig}")
}

/// A new link for `user` to act on `incident`, valid for [`LINK_LIFETIME`] from `now`.
pub fn new_link(incident: i64, action: LinkAction, user: &Name, now: Timestamp) -> Link {
    Link {
        incident,
        action,
        user: user.clone(),
        expires: now.checked_add(LINK_LIFETIME).unwrap_or(now),
        nonce: crate::entropy::secret("")[..24].to_owned(),
    }
}

/// Checks a token presented at the URL of `action` at `now`.
pub fn verify(
    secret: &[u8],
    token: &str,
    action: LinkAction,
    now: Timestamp,
) -> Result<Link, LinkError> {
    let (payload, sig) = token.split_once('.').ok_or(LinkError::Invalid)?;
    // Constant-time comparison of the signatures.
    let mut mac = domain::mac::hmac::<sha2::Sha256>(secret);
    mac.update(payload.as_bytes());
    let given = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| LinkError::Invalid)?;
    if mac.verify_slice(&given).is_err() {
        return Err(LinkError::Invalid);
    }
    let decoded = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkError::Invalid)?;
    let text = String::from_utf8(decoded).map_err(|_| LinkError::Invalid)?;
    let parts: Vec<&str> = text.split('|').collect();
    let [incident, act, user, expires, nonce] = parts[..] else {
        return Err(LinkError::Invalid);
    };
    let link = Link {
        incident: incident.parse().map_err(|_| LinkError::Invalid)?,
        action: LinkAction::parse(act).ok_or(LinkError::Invalid)?,
        user: Name::new(user).map_err(|_| LinkError::Invalid)?,
        expires: expires
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or(LinkError::Invalid)?,
        nonce: nonce.to_owned(),
    };
    if link.action != action {
        return Err(LinkError::WrongAction);
    }
    if now >= link.expires {
        return Err(LinkError::Expired);
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn a_token_verifies_for_its_action_until_it_expires() {
        let link = new_link(7, LinkAction::Acknowledge, &Name::new("ann").unwrap(), t(0));
        let tok = token(b"secret", &link);
        assert_eq!(
            verify(b"secret", &tok, LinkAction::Acknowledge, t(60)),
            Ok(link.clone())
        );
        assert_eq!(
            verify(b"secret", &tok, LinkAction::Resolve, t(60)),
            Err(LinkError::WrongAction)
        );
        assert_eq!(
            verify(b"secret", &tok, LinkAction::Acknowledge, t(24 * 3600)),
            Err(LinkError::Expired)
        );
        assert_eq!(
            verify(b"other", &tok, LinkAction::Acknowledge, t(60)),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn a_changed_token_is_invalid() {
        let link = new_link(7, LinkAction::Resolve, &Name::new("ann").unwrap(), t(0));
        let tok = token(b"secret", &link);
        // Point it at another incident, keeping the signature.
        let (_, sig) = tok.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(format!(
            "8|resolve|ann|{}|{}",
            link.expires.as_second(),
            link.nonce
        ));
        let forged = format!("{forged_payload}.{sig}");
        assert_eq!(
            verify(b"secret", &forged, LinkAction::Resolve, t(1)),
            Err(LinkError::Invalid)
        );
        for junk in ["", ".", "abc", "abc.def", &tok[..tok.len() - 1]] {
            assert_eq!(
                verify(b"secret", junk, LinkAction::Resolve, t(1)),
                Err(LinkError::Invalid),
                "{junk}"
            );
        }
    }
}
