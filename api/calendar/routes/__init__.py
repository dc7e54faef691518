"""The working calendar's router: /calendar."""
