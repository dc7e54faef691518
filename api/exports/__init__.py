"""Exports of reports: tables with bilingual headers, streamed to XLSX for staff and to CSV for systems."""
