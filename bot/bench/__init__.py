"""`make bench`: performance measured side by side in one run (DESIGN.md, "Benchmarks").

`python -m bot.bench [--quick] [--out var/bench]` starts what each measure
needs on free loopback ports, drives it, stops it, and writes
`report.md`, `results.json` and charts into the output folder.
"""
