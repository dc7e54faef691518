"""The survey's routes: /survey."""
