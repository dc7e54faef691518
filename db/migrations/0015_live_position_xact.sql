-- Which transaction last changed each live position, so that the API's live map reads only what changed since
-- its last look: rows of transactions at or above the oldest one still running when it last looked (the xmin
-- of its snapshot; api/live.py). Reading by receipt time instead had to reach two seconds back to be safe, a
-- few thousand rows per look at a city's rate. Not indexed: the upsert keeps its HOT updates (fillfactor 50),
-- and a look scans the table of one row per vehicle.
ALTER TABLE live_position ADD COLUMN changed_xact xid8 NOT NULL DEFAULT pg_current_xact_id();
