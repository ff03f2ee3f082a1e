//! Roles, scopes and the one rule that decides who may see and touch what.
//!
//! One SRE team serves several companies. A grant pairs a role with a scope: global (the
//! SRE team), a company (objects labelled `company: X`), or a team (the team and what it
//! owns). A principal may hold several grants; a request is allowed when one grant of a
//! high enough role covers the object.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::name::Name;

/// Roles, ordered: every role may do what the roles below it may.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in scope.
    Viewer,
    /// Acts on incidents in scope: acknowledge, resolve, add notes, override schedules.
    Responder,
    /// Changes configuration in scope and manages people and tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Responder, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "responder" => Ok(Role::Responder),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}; expected viewer, responder or admin"
            )),
        }
    }
}

/// Where a grant applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Everything: the SRE team.
    Global,
    /// Objects labelled `company: <value>`.
    Company(String),
    /// The team itself and the objects it owns.
    Team(Name),
}

impl Scope {
    /// True when everything this scope reaches, `other` reaches too.
    pub fn within(&self, other: &Scope) -> bool {
        match (self, other) {
            (_, Scope::Global) => true,
            (Scope::Global, _) => false,
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Company(c) => write!(f, "company:{c}"),
            Scope::Team(t) => write!(f, "team:{t}"),
        }
    }
}

/// A role in a scope. In YAML and JSON: `{role: admin}` (global), `{role: responder,
/// company: acme}` or `{role: viewer, team: payments}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// `viewer`, `responder` or `admin`.
    pub role: Role,
    /// Limits the grant to objects labelled with this company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Limits the grant to this team and the objects it owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Name>,
}

impl Grant {
    pub fn global(role: Role) -> Self {
        Grant {
            role,
            company: None,
            team: None,
        }
    }

    pub fn company(role: Role, company: impl Into<String>) -> Self {
        Grant {
            role,
            company: Some(company.into()),
            team: None,
        }
    }

    pub fn team(role: Role, team: Name) -> Self {
        Grant {
            role,
            company: None,
            team: Some(team),
        }
    }

    /// The grant's scope. A grant naming both a company and a team is refused by
    /// validation; should one reach here, the narrower team scope wins.
    pub fn scope(&self) -> Scope {
        match (&self.team, &self.company) {
            (Some(t), _) => Scope::Team(t.clone()),
            (None, Some(c)) => Scope::Company(c.clone()),
            (None, None) => Scope::Global,
        }
    }

    /// True when this grant allows at least `role` on `target`.
    pub fn covers(&self, role: Role, target: &AccessTarget) -> bool {
        self.role >= role
            && match self.scope() {
                Scope::Global => true,
                Scope::Company(c) => target.company.as_deref() == Some(c.as_str()),
                Scope::Team(t) => target.teams.contains(&t),
            }
    }

    /// True when everything this grant allows, `other` allows too.
    pub fn within(&self, other: &Grant) -> bool {
        self.role <= other.role && self.scope().within(&other.scope())
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.role, self.scope())
    }
}

/// What access control needs to know of an object: its company and the teams that own it.
/// Audit rows keep it too, so that the log is scoped like the objects it describes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTarget {
    pub company: Option<String>,
    pub teams: Vec<Name>,
}

/// Who is acting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum Subject {
    /// A person, by user name.
    User(Name),
    /// An API token without a user, by token name.
    Token(String),
    /// shinrai itself (configuration applied from files at start, background work).
    System,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(n) => write!(f, "user:{n}"),
            Subject::Token(n) => write!(f, "token:{n}"),
            Subject::System => f.write_str("system"),
        }
    }
}

/// An authenticated actor and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub subject: Subject,
    pub grants: Vec<Grant>,
}

impl Principal {
    /// shinrai itself, allowed everything.
    pub fn system() -> Self {
        Principal {
            subject: Subject::System,
            grants: vec![Grant::global(Role::Admin)],
        }
    }

    pub fn allows(&self, role: Role, target: &AccessTarget) -> bool {
        self.grants.iter().any(|g| g.covers(role, target))
    }

    /// True when some grant reaches everything with at least `role`.
    pub fn is_global(&self, role: Role) -> bool {
        self.grants
            .iter()
            .any(|g| g.role >= role && g.scope() == Scope::Global)
    }

    /// The highest role held in any scope, for display.
    pub fn highest_role(&self) -> Option<Role> {
        self.grants.iter().map(|g| g.role).max()
    }

    /// Caps every grant at `role`: a token made for a user never exceeds its own role,
    /// nor the user's grants.
    pub fn capped(mut self, role: Role) -> Self {
        for g in &mut self.grants {
            g.role = g.role.min(role);
        }
        self
    }

    /// True when `grant` gives nothing this principal does not already hold: nobody
    /// hands out more than they have.
    pub fn may_delegate(&self, grant: &Grant) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == Role::Admin && grant.within(g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn target(company: &str, team: &str) -> AccessTarget {
        AccessTarget {
            company: Some(company.into()),
            teams: vec![name(team)],
        }
    }

    #[test]
    fn global_grants_see_every_company() {
        let sre = Principal {
            subject: Subject::User(name("sre")),
            grants: vec![Grant::global(Role::Responder)],
        };
        assert!(sre.allows(Role::Viewer, &target("acme", "shop")));
        assert!(sre.allows(Role::Responder, &target("globex", "ads")));
        assert!(!sre.allows(Role::Admin, &target("globex", "ads")));
    }

    #[test]
    fn company_and_team_grants_stop_at_their_border() {
        let acme_admin = Principal {
            subject: Subject::User(name("ann")),
            grants: vec![Grant::company(Role::Admin, "acme")],
        };
        assert!(acme_admin.allows(Role::Admin, &target("acme", "shop")));
        assert!(!acme_admin.allows(Role::Viewer, &target("globex", "shop")));
        assert!(!acme_admin.allows(Role::Viewer, &AccessTarget::default()));

        let shop = Principal {
            subject: Subject::User(name("sam")),
            grants: vec![Grant::team(Role::Responder, name("shop"))],
        };
        assert!(shop.allows(Role::Responder, &target("acme", "shop")));
        assert!(!shop.allows(Role::Viewer, &target("acme", "ads")));
    }

    #[test]
    fn delegation_never_exceeds_what_is_held() {
        let acme_admin = Principal {
            subject: Subject::User(name("ann")),
            grants: vec![Grant::company(Role::Admin, "acme")],
        };
        assert!(acme_admin.may_delegate(&Grant::company(Role::Viewer, "acme")));
        assert!(!acme_admin.may_delegate(&Grant::company(Role::Viewer, "globex")));
        assert!(!acme_admin.may_delegate(&Grant::global(Role::Viewer)));
        assert!(Principal::system().may_delegate(&Grant::global(Role::Admin)));
    }

    #[test]
    fn capping_lowers_every_grant() {
        let p = Principal {
            subject: Subject::User(name("ann")),
            grants: vec![Grant::global(Role::Admin)],
        }
        .capped(Role::Viewer);
        assert!(p.allows(Role::Viewer, &target("acme", "shop")));
        assert!(!p.allows(Role::Responder, &target("acme", "shop")));
    }
}
