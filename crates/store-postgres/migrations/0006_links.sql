-- Secrets shinrai makes for itself and shares between its nodes (the key that signs
-- acknowledge and resolve links in emails and SMS), created once on first use.
CREATE TABLE server_secrets (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- Links that have been used: each signed link acts once.
CREATE TABLE used_links (
    nonce   TEXT   PRIMARY KEY,
    used_at BIGINT NOT NULL
);
