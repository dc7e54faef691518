-- The live map of every API process follows the registry and the requests without rereading them: each change
-- of what the map shows of a vehicle (its unit, plate, lifecycle; its open request and driver) names the vehicle
-- on the channel yiwang_vehicle, delivered when the change commits (api/live.py LISTENs). Whoever writes
-- (the API, an import, psql), the map hears of it. Payloads of one transaction that are equal arrive once.

CREATE FUNCTION notify_vehicle_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'vehicle' THEN
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('yiwang_vehicle', OLD.id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('yiwang_vehicle', NEW.id);
        END IF;
    ELSE  -- trip_request: the vehicle it held and the one it holds
        IF TG_OP <> 'INSERT' AND OLD.vehicle_id IS NOT NULL THEN
            PERFORM pg_notify('yiwang_vehicle', OLD.vehicle_id);
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.vehicle_id IS NOT NULL THEN
            PERFORM pg_notify('yiwang_vehicle', NEW.vehicle_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER vehicle_changed
    AFTER INSERT OR DELETE OR UPDATE OF organisation_id, plate, lifecycle ON vehicle
    FOR EACH ROW EXECUTE FUNCTION notify_vehicle_changed();

CREATE TRIGGER trip_request_vehicle_changed
    AFTER INSERT OR DELETE OR UPDATE OF state, vehicle_id, driver_id ON trip_request
    FOR EACH ROW EXECUTE FUNCTION notify_vehicle_changed();
