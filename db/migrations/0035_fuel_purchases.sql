-- Vehicle fuel and charging as the statements offices receive them (加油卡消费明细, 充电平台账单), joined to the
-- kilometres the tracks drove (api/fleet/fuel.py) and counted in each home institution's energy (db/fuel.py).

-- 油箱容积: how many litres a vehicle's tank holds; a purchase larger than it is flagged. Null: not known.
ALTER TABLE vehicle ADD COLUMN tank_litres double precision CHECK (tank_litres > 0);

-- One fuel purchase or charging session. The vehicle is the one that held the statement's plate at the purchase
-- time (in service by then, not retired before it), resolved when it was imported; the plate is kept as the
-- statement wrote it. `day` is the purchase's local day in the city's zone (YIWANG_TIME_ZONE) when it was imported,
-- as mileage_trip.day is: years and months are counted in it. Gasoline and diesel are bought in litres and reported
-- in kg: `kg_per_litre` is the density the import converted with (YIWANG_FUEL_*_KG_PER_LITRE), kept with the row
-- so that a later change of the setting does not change what was reported.
CREATE TABLE fuel_purchase (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vehicle_id    text NOT NULL REFERENCES vehicle (id),
    plate         text NOT NULL,  -- 车牌号 as the statement has it
    card_number   text,           -- 卡号: a fuel card's, or a charging platform's account; null when none
    time          timestamptz NOT NULL,  -- 交易时间, or a charge's 充电开始时间
    end_time      timestamptz CHECK (end_time >= time),  -- a charge's 充电结束时间
    day           date NOT NULL,
    station       text,           -- 油站 / 充电站
    fuel          text NOT NULL CHECK (fuel IN ('gasoline', 'diesel', 'electricity')),
    grade         text,           -- 油品 as written: 92#, 95号, 0#柴油
    quantity      numeric NOT NULL CHECK (quantity > 0),  -- litres of gasoline or diesel, kWh of electricity
    kg_per_litre  numeric CHECK ((fuel = 'electricity') = (kg_per_litre IS NULL) AND kg_per_litre > 0),
    amount        numeric CHECK (amount >= 0),  -- 金额, yuan; null when the statement gives none
    statement     text NOT NULL,  -- the file it came from: its name
    sheet         text NOT NULL,
    row_number    integer NOT NULL,
    imported_by   bigint REFERENCES app_user (id),
    imported_at   timestamptz NOT NULL DEFAULT now()
);
-- The natural key: one vehicle does not buy the same quantity of the same fuel twice in one second. Importing a
-- statement again, or two statements that overlap, adds nothing twice.
CREATE UNIQUE INDEX fuel_purchase_natural ON fuel_purchase (vehicle_id, time, fuel, quantity);
CREATE INDEX fuel_purchase_day ON fuel_purchase (day, vehicle_id);
