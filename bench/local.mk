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

# Inference: event engine vs dense CBLAS engine on MNIST test images.
.PHONY: bench-infer
bench-infer: evsnn$(EXEEXT)
	cd $(top_srcdir) && $(abs_top_builddir)/evsnn$(EXEEXT) bench --threads 2
bench: bench-infer

# Training: the event trainer vs the dense CBLAS trainer on the same batches.
.PHONY: bench-train
bench-train: evsnn$(EXEEXT)
	cd $(top_srcdir) && $(abs_top_builddir)/evsnn$(EXEEXT) bench --train --batches 20 --repeat 3 --threads 2
bench: bench-train

# Event I/O (src/io): our format in memory and gzip, zlib baseline, EVT 3.0 decode.
noinst_PROGRAMS += bench/bench_events
bench_bench_events_SOURCES = bench/bench_events.c
bench_bench_events_LDADD = $(EVSNN_LIBS)
.PHONY: bench-events
bench-events: bench/bench_events$(EXEEXT)
	EVSNN_SRCDIR='$(abs_top_srcdir)' ./bench/bench_events$(EXEEXT)
bench: bench-events

# Continuous-time engine (src/engine/ctime.c): synaptic ops/s on one core
# and the factor over real time, on a long rate-coded MNIST recording.
noinst_PROGRAMS += bench/bench_ctime
bench_bench_ctime_SOURCES = bench/bench_ctime.c
bench_bench_ctime_LDADD = $(EVSNN_LIBS)
.PHONY: bench-ctime
bench-ctime: bench/bench_ctime$(EXEEXT) evsnn$(EXEEXT)
	cd $(top_srcdir) && $(abs_top_builddir)/evsnn$(EXEEXT) train --epochs 1 --threads 2 --out $(abs_top_builddir)/bench-ctime.evsnn > /dev/null
	cd $(top_srcdir) && $(abs_top_builddir)/bench/bench_ctime$(EXEEXT) --model $(abs_top_builddir)/bench-ctime.evsnn --digits 1000 --out $(abs_top_builddir)/bench-ctime.evs.gz
	$(abs_top_builddir)/evsnn$(EXEEXT) replay --model $(abs_top_builddir)/bench-ctime.evsnn $(abs_top_builddir)/bench-ctime.evs.gz --speed 0 --window 20 --json | tail -c 400
bench: bench-ctime
