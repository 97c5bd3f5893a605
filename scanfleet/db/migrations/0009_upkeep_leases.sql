-- Upkeep that one scheduler replica does at a time (dropping expired partitions: replicas' DDL on one
-- table deadlocks, or trips over a detach finishing under it). A lease, not an advisory lock: DETACH ...
-- CONCURRENTLY runs outside any transaction, and a session lock does not hold through PgBouncer's
-- transaction mode. A holder that dies leaves its lease to run out.
CREATE TABLE upkeep_leases (
    name    text PRIMARY KEY,
    holder  uuid NOT NULL,
    until   timestamptz NOT NULL
);
