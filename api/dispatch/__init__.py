"""Dispatch and supervision of official vehicles: cleaned tracks, stops and trips from their fixes."""
