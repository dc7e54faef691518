"""What the tests share, one module per kind of help; test files import from here, never from each other.

stack       a test's settings and stack folders on the session's TimescaleDB and Mosquitto
broker      the tests' broker account; publishing through the broker
messages    readings and positions as devices send them
registry    devices registered for one test
waiting     waiting for a condition in the database or in memory
rollups     the consumption and mileage roll-ups brought up to date
api         the API's users, logins, two units, the audit log
fleet       trip requests, drivers and the live map through the API
files       registry workbooks sent and read back
tracks      positions and days driven by hand along a street
simulators  the simulators' seed, broker, and how the collector reads what they publish
"""
