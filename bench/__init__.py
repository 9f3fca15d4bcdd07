"""The MLP Lens benchmark: ``python -m bench.run`` times the lesson's code against MLP Lens.

Every measurement runs in a fresh Python process (``bench.workloads``), which
times itself and reports its peak resident memory; ``bench.run`` prepares the
data and the caches, runs the processes one after another and prints one
Markdown report (``bench.report``).
"""
