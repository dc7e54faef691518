-- A fuel purchase withdrawn: reversed (冲正) by a later statement's row, imported by mistake, or resolved to the
-- wrong vehicle. It stays, marked, never deleted, and counts nowhere: every read of purchases leaves it out
-- (db/fuel.py). `reversed_at` is the time of the reversal row that withdrew it (null when staff withdrew it through
-- POST /fuel/purchases/{id}/withdrawal): importing that statement again finds the reversal applied and withdraws
-- nothing more. `withdrawn_by` is null for an import made without a user (the administration commands).
ALTER TABLE fuel_purchase
    ADD COLUMN withdrawn_at     timestamptz,
    ADD COLUMN withdrawn_by     bigint REFERENCES app_user (id),
    ADD COLUMN withdrawn_reason text,
    ADD COLUMN reversed_at      timestamptz,
    ADD CONSTRAINT fuel_purchase_withdrawn CHECK (
        (withdrawn_at IS NULL) = (withdrawn_reason IS NULL) AND (reversed_at IS NULL OR withdrawn_at IS NOT NULL)
    );
