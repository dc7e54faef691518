-- Energy events are alerts with another subject (docs/notifications.md "Energy events"): an institution, and for
-- a meter's event its meter, instead of a vehicle. One lifecycle, one set of rules: organisation_id stays the scope
-- (the institution's unit), so acknowledging, notes, assigning, closing, escalation and deliveries apply unchanged.
ALTER TABLE alert ALTER COLUMN vehicle_id DROP NOT NULL;
ALTER TABLE alert
    ADD COLUMN institution_id  text REFERENCES institution (id),
    ADD COLUMN meter_id        text REFERENCES meter (id),
    -- An alert is about a vehicle or an institution, never both; a meter only within its institution's event.
    ADD CONSTRAINT alert_subject CHECK (
        num_nonnulls(vehicle_id, institution_id) = 1 AND (meter_id IS NULL OR institution_id IS NOT NULL));

ALTER TABLE alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE alert ADD CONSTRAINT alert_kind_check
    CHECK (kind IN ('speeding', 'off_hours', 'no_dispatch', 'area_exit', 'parking', 'silent',
                    'emergency', 'gnss_antenna', 'power_cut', 'terminal_overspeed', 'fatigue', 'area_entry',
                    'quota_near', 'night_base_load', 'night_water_flow', 'meter_silent'));

-- Raising is idempotent: an energy event's `time` is the start of what it judged (the silent meter's last reading,
-- the first night of a run, the first day measured, the quota's year), so the energy watch raising it again raises
-- nothing; the level too, so that a quota near (yellow) and then over (red) are two alerts.
CREATE UNIQUE INDEX alert_energy_period ON alert (institution_id, coalesce(meter_id, ''), kind, time, level)
    WHERE institution_id IS NOT NULL;
-- And a lasting cause raises one alert, not one a day: at most one active (neither cleared nor closed) per subject
-- and kind.
CREATE UNIQUE INDEX alert_energy_active ON alert (institution_id, coalesce(meter_id, ''), kind)
    WHERE institution_id IS NOT NULL AND cleared_at IS NULL AND closed_at IS NULL;
