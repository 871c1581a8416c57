# bench: benchmarks, run by make bench.
.PHONY: bench

# Column kernels (src/kernels): G floats/s per variant on the paper's shapes.
noinst_PROGRAMS += bench/bench_kernels
bench_bench_kernels_SOURCES = bench/bench_kernels.c
bench_bench_kernels_LDADD = $(EVSNN_LIBS)
.PHONY: bench-kernels
bench-kernels: bench/bench_kernels$(EXEEXT)
	./bench/bench_kernels$(EXEEXT)
bench: bench-kernels
