# src/stream: the libuv edge. libevsnn_stream is a convenience library (not
# installed) holding the TCP server and client of evsnn serve / evsnn send
# (docs/protocol.md), so that libevsnn itself never links libuv.
noinst_LTLIBRARIES = libevsnn_stream.la
libevsnn_stream_la_SOURCES = src/stream/server.c src/stream/session.c src/stream/proto.c src/stream/client.c src/stream/logw.c \
  src/stream/serve.h src/stream/session.h src/stream/proto.h src/stream/logw.h
libevsnn_stream_la_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
STREAM_LIBS = libevsnn_stream.la $(EVSNN_LIBS) $(LIBUV_LIBS)
EXTRA_DIST += docs/protocol.md

check_PROGRAMS += tests/test_serve
TESTS += tests/test_serve
tests_test_serve_SOURCES = tests/test_serve.c
tests_test_serve_CFLAGS = $(TEST_CFLAGS) $(LIBUV_CFLAGS)
tests_test_serve_LDADD = libevsnn_stream.la $(TEST_LIBS) $(LIBUV_LIBS) -lpthread

# The protocol's fuzz harness (tests/fuzz/fuzz_proto.c): a libFuzzer program
# with --enable-fuzz (CC=clang), and always a replay of its corpus.
check_PROGRAMS += tests/test_proto_fuzz
TESTS += tests/test_proto_fuzz
tests_test_proto_fuzz_SOURCES = tests/test_events_fuzz.c tests/fuzz/fuzz_proto.c
tests_test_proto_fuzz_CFLAGS = $(TEST_CFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus-proto"' -DFUZZ_MIN_FILES=4
tests_test_proto_fuzz_LDADD = libevsnn_stream.la $(TEST_LIBS) $(LIBUV_LIBS) -lpthread
EXTRA_DIST += tests/fuzz/corpus-proto

if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_proto
tests_fuzz_fuzz_proto_SOURCES = tests/fuzz/fuzz_proto.c src/stream/proto.c src/stream/session.c
tests_fuzz_fuzz_proto_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer -static
tests_fuzz_fuzz_proto_LDADD = $(EVSNN_LIBS)
endif

# Loopback throughput of serve with several clients (bench/bench_serve.c).
noinst_PROGRAMS += bench/bench_serve
bench_bench_serve_SOURCES = bench/bench_serve.c
bench_bench_serve_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
bench_bench_serve_LDADD = $(STREAM_LIBS) -lpthread
.PHONY: bench-serve
bench-serve: bench/bench_serve$(EXEEXT)
	./bench/bench_serve$(EXEEXT) --clients 1,2,4,8 --events 2000000 --repeat 3
bench: bench-serve
EXTRA_DIST += bench/attack_serve.py
