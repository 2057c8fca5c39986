"""`python -m bench [names] [--quick] [--no-peer]`: every benchmark, one table (bench/run.py)."""

from bench.run import main

main()
