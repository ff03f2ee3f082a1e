-- The change feed: per kind of configured object, a number bumped in the transaction of
-- every commit that writes an object of that kind. Nodes poll this small table to learn
-- that configuration changed, instead of trusting caches for a fixed time.
CREATE TABLE generations (
    kind       TEXT   PRIMARY KEY,
    generation BIGINT NOT NULL
);
