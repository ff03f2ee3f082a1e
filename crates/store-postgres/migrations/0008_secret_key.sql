-- The fingerprint of the key that seals the server secrets (`server_secrets.value`): a
-- node started with another key refuses to start instead of failing to read them. One
-- row (id 1) once the first node has sealed the store's secrets.
CREATE TABLE secret_key (
    id          BIGINT PRIMARY KEY,
    fingerprint TEXT   NOT NULL,
    set_at      BIGINT NOT NULL
);
