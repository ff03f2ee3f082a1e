-- The foundation: configured objects, their labels, the audit log, API tokens,
-- console passwords and sessions. Instants are microseconds since the Unix epoch;
-- JSON is stored as TEXT. Shipped migrations are never edited: add a new file.

CREATE TABLE objects (
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    labels     TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    status     TEXT    NOT NULL DEFAULT '{}',
    source     TEXT,
    version    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE object_labels (
    kind  TEXT NOT NULL,
    name  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, name, key)
);
CREATE INDEX object_labels_by_value ON object_labels (kind, key, value);

-- What each object names (a service its owner team, a team its members). A commit fails
-- when it would leave a reference to an object that does not exist.
CREATE TABLE object_refs (
    from_kind TEXT NOT NULL,
    from_name TEXT NOT NULL,
    to_kind   TEXT NOT NULL,
    to_name   TEXT NOT NULL,
    PRIMARY KEY (from_kind, from_name, to_kind, to_name)
);
CREATE INDEX object_refs_by_target ON object_refs (to_kind, to_name);

-- Keys that find an object (a service's integration keys). Unique across shinrai.
CREATE TABLE object_keys (
    key  TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX object_keys_by_object ON object_keys (kind, name);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_by_object ON audit_log (kind, name, id);

CREATE TABLE api_tokens (
    name       TEXT   PRIMARY KEY,
    hash       TEXT   NOT NULL UNIQUE,
    grants     TEXT   NOT NULL,
    user_name  TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE passwords (
    user_name  TEXT   PRIMARY KEY,
    hash       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    hash       TEXT   PRIMARY KEY,
    user_name  TEXT   NOT NULL,
    csrf_token TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
