"""The fleet at work: trip requests and dispatch, suggestions of which vehicle to send, tracks and trips, the
mileage roll-up and packed hours of fixes behind them, dispatch reports and trips matched to requests
(supervision is api/supervision).

    trip_requests  requests taken from state to state (the state machine is domain/trip_requests.py)
    suggestions    which vehicle to send, from the live map and the registry
    tracks         a vehicle's cleaned track and trips as the API answers them
    packed         packing each vehicle's hours of fixes that are over (db/tracks.py)
    mileage        the mileage roll-up: trips and kilometres per vehicle and local day
    reports        dispatch reports per unit and vehicle
    workbook       the dispatch report as sheets
    matching       trips matched to the requests that dispatched them: the split, detours, suspicions
    matching_workbook  the matching report and the suspicions as sheets
    routes/        one router per path prefix
"""
