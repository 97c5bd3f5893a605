-- Webhooks: the endpoints an organisation registers, an outbox of events written by the result
-- transaction of every scan and test run, and a log of every delivery attempt.

CREATE TABLE webhook_endpoints (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url          text NOT NULL,
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    events       text[] NOT NULL,            -- the event types it receives
    -- The HMAC key deliveries are signed with. Kept as is, unlike API keys and ping tokens (digests only):
    -- signing needs the key itself. The customer sees it once, at creation.
    secret       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id);

-- The outbox: one row per (completion, endpoint), inserted in the same transaction as the result, so an
-- event exists exactly when its result is committed, and once (the unique key makes a second insert a no-op).
CREATE TABLE webhook_events (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL,              -- the endpoint's: an org's erase request finds its events
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    scan_id          uuid NOT NULL,
    type             text NOT NULL CHECK (type IN ('scan.completed', 'run.completed')),
    payload          jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    -- Pending: when it is next due. While a scheduler holds it, when that claim lapses.
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,                -- delivered or out of attempts; purged some time after
    UNIQUE (endpoint_id, scan_id)
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_events_org ON webhook_events (org_id, created_at);
CREATE INDEX webhook_events_finished ON webhook_events (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE webhook_attempts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id    uuid NOT NULL,              -- the event's: the log is read per endpoint, newest first
    attempt        integer NOT NULL,
    attempted_at   timestamptz NOT NULL,
    status_code    integer,                    -- NULL when no answer came (error_code says why)
    error_code     text,
    error_message  text,
    duration_ms    integer NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id DESC);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id);  -- for the cascade from a purged event
