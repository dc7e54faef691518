-- EMQX's JT/T 808 gateway where EMQX bridges into the broker (issue 16): a service account of its own role may
-- publish on EMQX's up topic `jt808/+/+/up` and nowhere else (broker/access.py ROLES, collector/emqx_jt808.py).
ALTER TABLE service_account
    DROP CONSTRAINT service_account_roles_check,
    ADD CONSTRAINT service_account_roles_check
        CHECK (roles <@ ARRAY['collector', 'gateway', 'api', 'observer', 'emqx_gateway'] AND cardinality(roles) > 0);
