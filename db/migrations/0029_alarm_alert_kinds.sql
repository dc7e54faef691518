-- Alerts from the terminal's alarm word (JT/T 808 table 24, read by domain/alarms.py): the emergency button, a
-- GNSS antenna cut or short, the main power cut (a terminal being removed), the terminal's overspeed and fatigue
-- alarms.
ALTER TABLE alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE alert ADD CONSTRAINT alert_kind_check
    CHECK (kind IN ('speeding', 'off_hours', 'no_dispatch', 'area_exit', 'parking', 'silent',
                    'emergency', 'gnss_antenna', 'power_cut', 'terminal_overspeed', 'fatigue'));
