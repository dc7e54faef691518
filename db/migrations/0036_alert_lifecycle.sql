-- The alert lifecycle (ThingsBoard's alarms as the model) and the notifier's rules and deliveries
-- (docs/notifications.md). An alert's severity stays `level` (yellow, red).

-- Cleared: its cause ended, decided from data by the notifier (domain/alert_lifecycle.py); closed: a person
-- closed it. Acknowledged and cleared are independent, so an alert may be cleared and still unacknowledged.
ALTER TABLE alert
    ADD COLUMN cleared_at        timestamptz,
    ADD COLUMN cleared_reason    text,
    ADD COLUMN closed_at         timestamptz,
    ADD COLUMN closed_by         bigint REFERENCES app_user (id),
    ADD COLUMN assignee_id       bigint REFERENCES app_user (id),
    ADD COLUMN assigned_at       timestamptz,
    -- Escalated: stayed unacknowledged and active past YIWANG_ALERT_ESCALATE_SECONDS (recorded once).
    ADD COLUMN escalated_at      timestamptz;
-- What the notifier's sweeps look at: alerts still active, neither cleared nor closed.
CREATE INDEX alert_active ON alert (vehicle_id, kind) WHERE cleared_at IS NULL AND closed_at IS NULL;

-- Notes on an alert: appended, never edited or removed (the API's role may only add and read).
CREATE TABLE alert_note (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint      NOT NULL REFERENCES alert (id),
    author_id   bigint      NOT NULL REFERENCES app_user (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    text        text        NOT NULL
);
CREATE INDEX alert_note_alert ON alert_note (alert_id, id);

-- Who is told of what, and how: kept by admins through the API. NULL in a filter column: any.
CREATE TABLE notification_rule (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL,
    enabled          boolean     NOT NULL DEFAULT true,
    organisation_id  text        REFERENCES organisation (id),  -- the alert's unit; NULL: every unit
    kinds            text[],                                   -- alert kinds; NULL: every kind
    levels           text[],                                   -- yellow, red; NULL: both
    -- new: an alert as it is raised; escalation: an alert escalated (the next level of people).
    event            text        NOT NULL DEFAULT 'new' CHECK (event IN ('new', 'escalation')),
    channel          text        NOT NULL CHECK (channel IN ('email', 'wecom', 'dingtalk')),
    -- email: the addresses, comma-separated; wecom, dingtalk: the group robot's webhook URL.
    target           text,
    -- email: also every enabled user of this role with an address (a unit user: of the rule's unit).
    role             text        CHECK (role IN ('admin', 'dispatcher', 'energy_staff', 'unit_user', 'auditor')),
    secret           text,                                     -- 钉钉's signing secret (SEC...), if set
    quiet_start      time,                                     -- local time (YIWANG_TIME_ZONE)
    quiet_end        time,
    digest_minutes   integer     CHECK (digest_minutes > 0),  -- NULL: one message per alert
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       bigint      REFERENCES app_user (id),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)),
    CHECK (target IS NOT NULL OR (channel = 'email' AND role IS NOT NULL)),
    CHECK (role IS NULL OR (channel = 'email' AND (role <> 'unit_user' OR organisation_id IS NOT NULL)))
);

-- Where e-mail rules by role reach a user (set by admins: PATCH /users/{id}).
ALTER TABLE app_user ADD COLUMN email text CHECK (email ~ '^[^@\s,]+@[^@\s,]+$');

-- Every delivery: one message of a rule about one alert, or a digest of several. `key` makes planning idempotent:
-- alert:<id>, escalation:<id>, digest:<bucket start>.
CREATE TABLE notification_delivery (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id          bigint      NOT NULL REFERENCES notification_rule (id) ON DELETE CASCADE,
    key              text        NOT NULL,
    alert_ids        bigint[]    NOT NULL,
    channel          text        NOT NULL,
    target           text        NOT NULL,  -- as planned; once sent, who it went to
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    due_at           timestamptz NOT NULL,                      -- the next attempt: quiet hours, digest, backoff
    sent_at          timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rule_id, key)
);
CREATE INDEX notification_delivery_due ON notification_delivery (due_at) WHERE status = 'pending';

-- How far the notifier has planned: the newest alert id it has matched against the rules (escalations are
-- planned in the transaction that records them).
CREATE TABLE notification_cursor (
    name     text   PRIMARY KEY,
    last_id  bigint NOT NULL
);
