-- Each meter's local months, the sums of its consumption_day rows (kept with them by api/energy/rollup.py):
-- a year of a city is 12 rows a meter instead of 365, which is what keeps annual indicators fast.
CREATE TABLE consumption_month (
    meter_id  text    NOT NULL,
    month     date    NOT NULL,  -- the first local day of the month
    amount    numeric NOT NULL,
    excluded  numeric NOT NULL DEFAULT 0,
    readings  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (meter_id, month)
);

INSERT INTO consumption_month (meter_id, month, amount, excluded, readings)
SELECT meter_id, date_trunc('month', day)::date, sum(amount), sum(excluded), sum(readings)
FROM consumption_day GROUP BY 1, 2;
