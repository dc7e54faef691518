-- The consumption roll-up's marks work as the mileage roll-up's do (0016): a refresher claims a meter's mark by
-- deleting it in its recount's transaction, and a batch writes a mark only where there is none or its readings are
-- earlier (db/ingest.py mark_stale). The version each batch bumped is gone with the write it cost.
ALTER TABLE consumption_stale DROP COLUMN version;
