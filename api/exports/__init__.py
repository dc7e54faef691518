"""The /exports routes: the energy and dispatch reports as XLSX and CSV files (the formats are api/files)."""
