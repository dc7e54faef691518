"""The domain core: the words of the product and the rules that are pure functions, with no I/O and no import of
any other package of the project (an import contract in pyproject.toml checks it). collector/, db/, api/ and
simulators/ all import it.

The vocabulary:
    ids           the registry's ids (also MQTT user names and topic levels)
    topics        MQTT topics: `<root>/<device>/<id>/<family>`, the families
    dead_letter   why a message was refused
    energy        energy types, sub-items, categories of institutions, the assessed indicators
    measures      units of measure of meters and reports
    vehicles      vehicle energies, lifecycle, live states, licence classes
    labels        the Chinese words for every code list
    periods       periods of local days
    calendar      workdays: the week's, holidays and make-up workdays (调休)

The things:
    position      a vehicle's position report
    reading       a meter's register reading
    registry      organisations, institutions with their facts of a year, departments, data-centre rooms, meters,
                  vehicles and their rules

The rules:
    geo           great-circle distances, bearings, points in polygons (plain and in arrays)
    counters      consumption from cumulative registers, exactly, per local hour and day
    coverage      whether a meter's readings cover a period whole (incomplete_period)
    ranking       ranks lowest first with ties (1, 2, 2, 4), the unranked apart after them
    corrections   a day corrected by staff: its amount shared between its hours, exactly
    track         cleaning a track, its stops, simplifying it
    trips         trips of a cleaned track, and where a recount may start
    suggestions   which vehicle to send for a trip request
    supervision   alerts from positions, as each arrives
    area_index    the areas by unit and on a grid of their boxes, so that a fix tries only the areas around it
    alert_lifecycle an alert's state (acknowledged, cleared, closed) and when its cause has ended
    notifications who is told of what and when: rules, quiet hours, digests, retries
    trip_requests the trip request's state machine
    matching      trips matched to the requests that dispatched their vehicle: undispatched km, detours, stops
    device_rate   what one device may send to the collector: a token bucket of messages and bytes
    survey        the statistics survey: its forms as data (survey_forms.toml), forms filled, summaries
    fuel          fuel-card and charging statements read, and purchases judged against a track's kilometres
    credit_codes  the unified social credit code (GB 32100-2015) and its check character
    replica       whether a read replica is recent enough to answer a report, and as of when
    departments   supervising departments as a hierarchy: descendants, chains of parents that come back

The protocols:
    jt808         JT/T 808 (2013, 2019) as spoken by vehicle terminals: frames, headers, messages, answers
"""
