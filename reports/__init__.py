"""Matching reports: a cohort's (or the whole network's) peer suggestions, partners, people and learning groups
as report.json, CSV files, a self-contained index.html and report.pdf, reproducible from (data version,
parameters, seed) and comparable between two runs (docs/reports.md).

- params.py    the report's parameters, checked before anything is computed or written
- build.py     the report's data (the content of report.json) from one engine snapshot
- provenance.py  content hash of the inputs, software versions
- tables.py    the CSV files
- figures.py   matplotlib figures as inline SVG
- render.py    one Jinja2 template -> index.html and (WeasyPrint) report.pdf
- diff.py      what changed between two reports of the same cohort
- words.py     plurals for the documents and the CLI
- write.py     all files of a report into a folder, all or nothing
- command.py   the `citypeers report` subcommands
"""
