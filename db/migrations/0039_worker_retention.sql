-- Retention (worker/retention.py, docs/operating.md "Retention"): raw positions and readings dropped a chunk at a
-- time; the roll-ups and packed track hours kept for good; the audit log moved out, never deleted in place.

-- Dropping chunks needs the hypertable's owner, and the worker connects as a role of its own (db/roles.py): this
-- function runs as the owner, for the two raw hypertables only and never below 31 days (collectors and terminals
-- buffer about 30; the roll-ups recount raw data younger than that when a late batch arrives). On the full edition
-- (timescaledb.license = 'timescale') it sets TimescaleDB's own retention policy, whose job drops the chunks; on the
-- Apache edition, which has no policies, it drops them itself (drop_chunks is in the Apache edition). NULL: kept for
-- good (a policy set before is removed). Returns the chunks dropped now.
-- From when each raw hypertable holds every row it was sent (nothing was dropped at or after `kept_from`): the
-- consumption roll-up never recounts behind it (worker/rollup.py), so the days made from dropped rows stay.
CREATE TABLE raw_horizon (
    hypertable text PRIMARY KEY,
    kept_from  timestamptz NOT NULL
);

CREATE FUNCTION apply_retention(relation regclass, keep interval) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    dropped integer := 0;
    policy  interval;
    name    text := (SELECT relname FROM pg_class WHERE oid = relation);  -- unquoted: position is a keyword
BEGIN
    IF relation NOT IN ('position'::regclass, 'reading'::regclass) THEN
        RAISE EXCEPTION 'retention applies to position and reading, not %', relation
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF keep < interval '31 days' THEN
        RAISE EXCEPTION 'raw data is kept 31 days or more, not %', keep USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF keep IS NOT NULL THEN
        -- Before anything is dropped (here, or by the full edition's job from now on): data at or after it stays.
        INSERT INTO raw_horizon (hypertable, kept_from) VALUES (name, now() - keep)
        ON CONFLICT (hypertable) DO UPDATE SET kept_from = greatest(raw_horizon.kept_from, EXCLUDED.kept_from);
    END IF;
    IF current_setting('timescaledb.license', true) = 'timescale' THEN
        SELECT (config ->> 'drop_after')::interval INTO policy FROM timescaledb_information.jobs
        WHERE proc_name = 'policy_retention' AND hypertable_schema = 'public' AND hypertable_name = name;
        IF policy IS NOT NULL AND policy IS DISTINCT FROM keep THEN
            PERFORM remove_retention_policy(relation, if_exists => true);
            policy := NULL;
        END IF;
        IF keep IS NOT NULL AND policy IS NULL THEN
            PERFORM add_retention_policy(relation, drop_after => keep);
        END IF;
        RETURN 0;
    END IF;
    IF keep IS NOT NULL THEN
        SELECT count(*) INTO dropped FROM drop_chunks(relation, older_than => now() - keep);
    END IF;
    RETURN dropped;
END;
$$;
-- Only the roles db/roles.py grants it to (the worker's) may call it.
REVOKE EXECUTE ON FUNCTION apply_retention(regclass, interval) FROM PUBLIC;

-- Where audit rows older than audit_retention_days go: the same columns, append-only like the log itself.
CREATE TABLE audit_log_archive (LIKE audit_log INCLUDING DEFAULTS);
ALTER TABLE audit_log_archive ADD PRIMARY KEY (id);
CREATE INDEX audit_log_archive_at ON audit_log_archive (at);

CREATE FUNCTION audit_log_archive_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log_archive is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_archive_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log_archive
    FOR EACH ROW EXECUTE FUNCTION audit_log_archive_append_only();
CREATE TRIGGER audit_log_archive_no_truncate
    BEFORE TRUNCATE ON audit_log_archive
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_archive_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log_archive FROM PUBLIC;

-- The log's rows are still never changed nor deleted in place: a row may leave audit_log only once the same row,
-- every column equal, is in the archive (a move). Anything else is refused as before, for every role.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_log_archive a WHERE a.id = OLD.id AND ROW(a.*) IS NOT DISTINCT FROM ROW(OLD.*)
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
