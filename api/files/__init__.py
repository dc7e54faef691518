"""Files people download: tables with bilingual headers written as XLSX for staff (bounded memory) and streamed as
CSV for systems, and the download responses. Every export and registry table is built from these."""
