"""The live map: every vehicle's newest fix in memory, answered to GET /positions/live and fanned out to WebSocket
clients with the alerts they may read, each filtered by the user's scope, a unit, a box and states.

    feed           the map in memory: what comes in, snapshots, ticks to subscribers
    vehicle        a vehicle on the map: its state and its feature's JSON
    whole          the whole map in one buffer, written in place
    encoding       ASCII JSON, ages, fixed widths
    subscriptions  filters, batches of changes, a client's mailbox
    follower       the database side: loads, looks, notifications; `Live`, opened in the lifespan
    stream         the WebSocket conversation
    model          the GeoJSON the API documents
    routes         /positions
"""
