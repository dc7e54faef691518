-- Compression of raw positions and readings on the full edition (worker/retention.py, docs/operating.md
-- "Retention"). The Apache edition (the local stack's) has no compression: there this answers 'unavailable' and
-- changes nothing, so the worker can say so instead of assuming a feature the database lacks.
--
-- Runs as the tables' owner (ALTER TABLE and the policy need it; the worker's role owns nothing), for the two raw
-- hypertables only, and never for chunks younger than 31 days: collectors and terminals buffer about 30 days, and
-- a late batch should meet a plain chunk, not decompress one. Segmented by device, newest first, as the track and
-- the counters read them. NULL removes the policy (chunks compressed before stay compressed; they read the same).
-- Returns 'on', 'off' or 'unavailable'.
CREATE FUNCTION apply_compression(relation regclass, after interval) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    policy  interval;
    enabled boolean;
    name    text := (SELECT relname FROM pg_class WHERE oid = relation);  -- unquoted: position is a keyword
BEGIN
    IF relation NOT IN ('position'::regclass, 'reading'::regclass) THEN
        RAISE EXCEPTION 'compression applies to position and reading, not %', relation
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF after < interval '31 days' THEN
        RAISE EXCEPTION 'raw data is compressed after 31 days or more, not %', after
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF current_setting('timescaledb.license', true) IS DISTINCT FROM 'timescale' THEN
        RETURN 'unavailable';
    END IF;
    SELECT (config ->> 'compress_after')::interval INTO policy FROM timescaledb_information.jobs
    WHERE proc_name = 'policy_compression' AND hypertable_schema = 'public' AND hypertable_name = name;
    IF policy IS NOT NULL AND policy IS DISTINCT FROM after THEN
        PERFORM remove_compression_policy(relation, if_exists => true);
        policy := NULL;
    END IF;
    IF after IS NULL THEN
        RETURN 'off';
    END IF;
    IF policy IS NULL THEN
        SELECT compression_enabled INTO enabled FROM timescaledb_information.hypertables
        WHERE hypertable_schema = 'public' AND hypertable_name = name;
        IF NOT coalesce(enabled, false) THEN
            EXECUTE format(
                'ALTER TABLE %s SET (timescaledb.compress, timescaledb.compress_segmentby = %L, '
                'timescaledb.compress_orderby = %L)',
                relation, CASE name WHEN 'position' THEN 'vehicle_id' ELSE 'meter_id' END, 'time DESC'
            );
        END IF;
        PERFORM add_compression_policy(relation, compress_after => after);
    END IF;
    RETURN 'on';
END;
$$;
-- Only the roles db/roles.py grants it to (the worker's) may call it.
REVOKE EXECUTE ON FUNCTION apply_compression(regclass, interval) FROM PUBLIC;
