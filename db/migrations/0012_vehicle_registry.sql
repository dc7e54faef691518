-- A vehicle's whole life in the registry (acquisition, allocation quota 编制, updating, auction or scrapping):
-- when it entered service and when and how it left, and how many vehicles each unit is allowed.

-- A retired vehicle left the fleet on a day, auctioned or scrapped; a vehicle in service or in the workshop has
-- neither. Vehicles retired by hand before this migration (no API could retire one) have neither yet: the
-- constraints are NOT VALID so that the migration runs, and they bind every write from now on, so the next change
-- to such a vehicle has to say when and how it left.
ALTER TABLE vehicle
    ADD COLUMN in_service_on  date,  -- 启用: registered and put into service
    ADD COLUMN retired_on     date,  -- 处置: the day it was auctioned or scrapped
    ADD COLUMN retired_how    text CHECK (retired_how IN ('auctioned', 'scrapped'));
ALTER TABLE vehicle
    ADD CONSTRAINT vehicle_retired_how CHECK ((lifecycle = 'retired') = (retired_how IS NOT NULL)) NOT VALID,
    ADD CONSTRAINT vehicle_retired_on CHECK ((lifecycle = 'retired') = (retired_on IS NOT NULL)) NOT VALID,
    ADD CONSTRAINT vehicle_retired_after_service CHECK (retired_on >= in_service_on);

-- A plate and a terminal belong to one vehicle in the fleet at a time, not for ever: a unit keeps the plate of a
-- scrapped car for its replacement (号牌保留), and a terminal is moved to another car. Retired vehicles keep theirs
-- as history, and a retired vehicle never comes back (api/registry.py), so the fleet never holds a plate twice.
ALTER TABLE vehicle DROP CONSTRAINT vehicle_plate_key, DROP CONSTRAINT vehicle_terminal_id_key;
CREATE UNIQUE INDEX vehicle_plate ON vehicle (plate) WHERE lifecycle <> 'retired';
CREATE UNIQUE INDEX vehicle_terminal_id ON vehicle (terminal_id) WHERE lifecycle <> 'retired';

-- 编制: how many vehicles a unit may hold, as the vehicle authority approved it. Keyed by organisation, not by
-- year: an allocation holds until the authority changes it (domain.md counts it among the steps of a vehicle's
-- life beside acquisition and disposal, while energy quotas are set each year, 0008_quota.sql), and every change,
-- with who made it and when, is in the audit log. Its count is of the vehicles not retired (in service or in the
-- workshop). Only units have one (api/registry.py): service and rental companies' fleets are not allocated.
CREATE TABLE vehicle_quota (
    organisation_id  text PRIMARY KEY REFERENCES organisation (id),
    allowed          integer NOT NULL CHECK (allowed >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
