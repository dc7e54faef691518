"""The registry (名录库): organisations, institutions with their yearly figures, meters, vehicles with their
lifecycle and allocation quotas (编制), drivers; read and changed through the API within a Scope, and kept by staff
as XLSX or CSV tables, exported and imported back.

    models        the bodies and answers
    service       reads and writes of organisations, institutions, meters, vehicles, quotas
    drivers       reads and writes of drivers
    tables        the tables as files: columns, headers, cells
    spreadsheets  a file into rows: XLSX or CSV, within limits
    imports       rows into items, all or nothing
    upload        an import over HTTP
    routes/       one router per path prefix
"""
