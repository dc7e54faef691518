"""The working calendar as admins keep it: the dated days (holidays off, make-up workdays 调休 on) that decide, with
the usual workdays of the week (YIWANG_WORKDAYS), which local days are workdays (domain/calendar.py). Supervision's
off-hours rules and energy's working-hours baseline and weekend load read it.

    days     the days listed, read, set, removed, and a year's replaced at once
    routes/  one router per path prefix: /calendar
"""
