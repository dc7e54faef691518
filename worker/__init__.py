"""The worker process (`yiwang worker`): the background work that keeps derived tables up to date, out of the API.

- rollup.py: the consumption roll-up (consumption_day, consumption_month) from the readings the collector marked;
- mileage.py: the mileage roll-up (mileage_trip, mileage_day) from the positions the collector marked;
- packed.py: each vehicle's hours of fixes that are over, packed into track_hour;
- retention.py: old raw data dropped by chunks, old dead letters pruned, old audit rows moved to the archive;
- turns.py: how each job takes its turns, metrics.py what they count, run.py the process.

Several workers may run at once, on one machine or several: every job takes its items so that two never do the
same one (turns.py says how each does), so a second worker is for availability and a province's backlog.
"""
