-- A vehicle's mileage mark is claimed by the refresher that recounts it: deleted in the recount's transaction
-- (api/dispatch/mileage.py), so a batch stored meanwhile waits for that transaction and then leaves a new mark.
-- The collector therefore writes a mark only where there is none or where its data is earlier
-- (db/ingest.py), not on every batch: the version each batch bumped is gone with the write it cost.
ALTER TABLE mileage_stale DROP COLUMN version;
