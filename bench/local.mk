# bench: benchmarks, run by make bench.
.PHONY: bench
