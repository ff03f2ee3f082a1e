-- Sign-in hardening.
--
-- Each email address belongs to one user: sign-in finds the user by email, so a second
-- user with someone else's address could lock them out. Addresses are compared with
-- ASCII letters folded to lower case (SQLite's lower() folds only ASCII, as shinrai
-- does). The store keeps this table in step with every write of a User.
--
-- Existing duplicates make the INSERT below fail; shinrai checks for them before it
-- migrates and refuses to start with a message that names the users, so this never runs
-- on data it would have to guess about.
CREATE TABLE user_emails (
    email TEXT PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);
INSERT INTO user_emails (email, name)
SELECT lower(json_extract(spec, '$.email')), name FROM objects
WHERE kind = 'User' AND json_extract(spec, '$.email') IS NOT NULL;

-- Failed sign-ins per account and per client address, so that throttling survives a
-- restart and holds across nodes. A row is forgotten once its failures are old.
CREATE TABLE signin_throttle (
    key             TEXT   PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    next_allowed_at BIGINT NOT NULL
);
CREATE INDEX signin_throttle_by_age ON signin_throttle (last_failure_at);
