"""Supervision (督车) as people meet it: the alerts the supervisor raised (collector/supervisor.py, by the rules of
domain/supervision.py), read within a Scope and acknowledged with a note, and the areas positions are judged
against.

    alerts   alerts listed, read by id (the live map pushes them) and acknowledged
    areas    permitted areas and parking places
    routes/  one router per path prefix: /alerts, /areas
"""
