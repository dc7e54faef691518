-- One row that counts the areas' changes (drawn, changed, removed): the supervisor reads it with each batch of
-- positions and reloads the areas when it moved, so a PATCH /areas applies to the next fixes judged, without waiting
-- for YIWANG_REGISTRY_REFRESH_SECONDS. Bumped by a statement trigger whoever writes (the API, or the owner in psql).
CREATE TABLE area_version (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    version  bigint  NOT NULL DEFAULT 0
);
INSERT INTO area_version DEFAULT VALUES;

CREATE FUNCTION area_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE area_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER area_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION area_changed();

-- Robots' webhook URLs hold their key (企业微信 `key`, 钉钉 `access_token`): the notifier now sends to its rule's
-- URL, sealed (db/sealing.py), and records it masked. Deliveries recorded before keep no key either. (The rules'
-- own URLs and secrets are sealed by the API at its next start: it has the key, a migration has not.)
UPDATE notification_delivery SET target = regexp_replace(target, '=[^&]*', '=…', 'g')
WHERE channel IN ('wecom', 'dingtalk') AND target LIKE '%?%';
