//! Converting between rows and records, and sqlx errors into store errors.

use domain::{Kind, Labels, Name, Timestamp};
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;
use store::*;

pub(crate) const TOKEN_COLUMNS: &str =
    "name, hash, grants, user_name, created_at, created_by, expires_at, revoked_at";

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn timestamp(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

pub(crate) fn unavailable(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

pub(crate) fn corrupt(e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(crate) fn unique_or_unavailable(e: sqlx::Error, kind: &str, name: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::AlreadyExists {
            kind: kind.into(),
            name: name.into(),
        };
    }
    unavailable(e)
}

pub(crate) fn already_exists(kind: Kind, name: &Name) -> StoreError {
    StoreError::AlreadyExists {
        kind: kind.to_string(),
        name: name.to_string(),
    }
}

pub(crate) fn not_found(kind: Kind, name: &Name) -> StoreError {
    StoreError::NotFound {
        kind: kind.to_string(),
        name: name.to_string(),
    }
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(column: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(corrupt)
}

fn name(s: String) -> Result<Name> {
    Name::new(s.clone()).map_err(|e| StoreError::Corrupt(format!("name {s:?}: {e}")))
}

pub(crate) fn object_from_row(row: &AnyRow) -> Result<ObjectRecord> {
    let kind: String = get(row, "kind")?;
    let kind: Kind = kind.parse().map_err(StoreError::Corrupt)?;
    let labels: Labels = from_json("labels", &get::<String>(row, "labels")?)?;
    let spec: Value = from_json("spec", &get::<String>(row, "spec")?)?;
    let status: Value = from_json("status", &get::<String>(row, "status")?)?;
    Ok(ObjectRecord {
        kind,
        name: name(get(row, "name")?)?,
        labels,
        spec,
        status,
        source: get(row, "source")?,
        version: get(row, "version")?,
        created_at: timestamp(get(row, "created_at")?)?,
        updated_at: timestamp(get(row, "updated_at")?)?,
    })
}

pub(crate) fn token_from_row(row: &AnyRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        name: get(row, "name")?,
        hash: get(row, "hash")?,
        grants: from_json("grants", &get::<String>(row, "grants")?)?,
        user: get::<Option<String>>(row, "user_name")?
            .map(name)
            .transpose()?,
        created_at: timestamp(get(row, "created_at")?)?,
        created_by: get(row, "created_by")?,
        expires_at: get::<Option<i64>>(row, "expires_at")?
            .map(timestamp)
            .transpose()?,
        revoked_at: get::<Option<i64>>(row, "revoked_at")?
            .map(timestamp)
            .transpose()?,
    })
}

/// What the audit log keeps of a token: never its hash.
pub(crate) fn token_audit_json(t: &TokenRecord) -> Value {
    serde_json::json!({
        "name": t.name,
        "grants": t.grants,
        "user": t.user,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
    })
}

pub(crate) fn session_from_row(row: &AnyRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        hash: get(row, "hash")?,
        user: name(get(row, "user_name")?)?,
        csrf_token: get(row, "csrf_token")?,
        created_at: timestamp(get(row, "created_at")?)?,
        expires_at: timestamp(get(row, "expires_at")?)?,
    })
}

pub(crate) fn audit_from_row(row: &AnyRow) -> Result<AuditEntry> {
    let json = |col: &str| -> Result<Option<Value>> {
        get::<Option<String>>(row, col)?
            .map(|s| from_json(col, &s))
            .transpose()
    };
    Ok(AuditEntry {
        id: get(row, "id")?,
        at: timestamp(get(row, "at")?)?,
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        kind: get(row, "kind")?,
        name: get(row, "name")?,
        scope: from_json("scope", &get::<String>(row, "scope")?)?,
        before: json("before_json")?,
        after: json("after_json")?,
    })
}
