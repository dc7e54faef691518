-- People at the API: users and their roles, the organisations a unit user may see, login sessions
-- with their rotating refresh tokens, failed logins (the rate limit) and the append-only audit log.

CREATE TABLE app_user (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL CHECK (name ~ '^\S{1,64}$'),
    role           text NOT NULL
                   CHECK (role IN ('admin', 'dispatcher', 'energy_staff', 'unit_user', 'auditor')),
    password_hash  text NOT NULL,  -- argon2id, in the PHC string format
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- A login name is one name whatever its case.
CREATE UNIQUE INDEX app_user_name ON app_user (lower(name));

-- The organisations a unit user sees (other roles see every organisation and have no rows here).
CREATE TABLE user_organisation (
    user_id          bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    organisation_id  text   NOT NULL REFERENCES organisation (id),
    PRIMARY KEY (user_id, organisation_id)
);
CREATE INDEX user_organisation_organisation ON user_organisation (organisation_id);

-- One login: every access token names its session (claim `sid`) and every refresh token belongs to
-- one, so revoking the session (logout, a reused refresh token, a disabled user) refuses both at once.
CREATE TABLE user_session (
    id              uuid PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,  -- absolute end, whatever the refreshes
    address         text,
    revoked_at      timestamptz,
    revoked_reason  text CHECK (revoked_reason IN ('logout', 'refresh_reuse', 'user_changed'))
);
CREATE INDEX user_session_user ON user_session (user_id) WHERE revoked_at IS NULL;

-- Opaque refresh tokens, stored as SHA-256 digests (256 random bits need no slow hash). Each is
-- used once: using it again means it was stolen or replayed, and revokes its session.
CREATE TABLE refresh_token (
    digest      bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES user_session (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_token_session ON refresh_token (session_id);

-- Failed logins in the recent window: every API process counts the same rows. Old rows are pruned
-- as new ones arrive.
CREATE TABLE login_failure (
    at         timestamptz NOT NULL DEFAULT now(),
    user_name  text NOT NULL,
    address    text NOT NULL
);
CREATE INDEX login_failure_user_name ON login_failure (lower(user_name), at);
CREATE INDEX login_failure_address ON login_failure (address, at);
CREATE INDEX login_failure_at ON login_failure (at);

-- Who did what, when, from where, and how it ended: every write, every read by an auditor, every
-- refused permission, every login. Rows are only ever added.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    user_id       bigint,          -- no foreign key: the record outlives any change to the user
    user_name     text,            -- as typed at a login, or the user's name
    role          text,
    action        text NOT NULL,   -- the permission used (institutions:read) or auth:login ...
    method        text NOT NULL,
    endpoint      text NOT NULL,   -- the route, e.g. /institutions/{institution_id}
    resource_ids  text[] NOT NULL DEFAULT '{}',
    params        jsonb NOT NULL DEFAULT '{}',
    address       text,
    status        smallint NOT NULL,
    outcome       text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_resource_ids ON audit_log USING gin (resource_ids);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Triggers hold against every role that connects, the table's owner and superusers included
-- (only a superuser who drops or disables the trigger gets past: see api/README-access.md).
CREATE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The rule for every role but the owner: add and read, never change or remove. (A new table grants
-- PUBLIC nothing anyway; a role made for the API later gets SELECT and INSERT only.)
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
