# src/io: event streams (file, gzip, memory), the decoder table and our own
# event container; other formats register in src/io/formats.c.
evsnninclude_HEADERS += include/evsnn/events.h
libevsnn_la_SOURCES += src/io/stream.c src/io/formats.c src/io/formats.h src/io/format_evsnn.c src/io/format_prophesee.c \
  src/io/format_aedat.c src/io/format_aedat4.c src/io/format_nmnist.c src/io/format_text.c src/io/writers.c \
  src/io/spikes.c

check_PROGRAMS += tests/test_events
TESTS += tests/test_events
tests_test_events_SOURCES = tests/test_events.c
tests_test_events_CFLAGS = $(TEST_CFLAGS)
tests_test_events_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_events_prophesee
TESTS += tests/test_events_prophesee
tests_test_events_prophesee_SOURCES = tests/test_events_prophesee.c tests/events_truth.h
tests_test_events_prophesee_CFLAGS = $(TEST_CFLAGS)
tests_test_events_prophesee_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_events_formats
TESTS += tests/test_events_formats
tests_test_events_formats_SOURCES = tests/test_events_formats.c tests/events_truth.h tests/aedat4_packets.h
tests_test_events_formats_CFLAGS = $(TEST_CFLAGS)
tests_test_events_formats_LDADD = $(TEST_LIBS)

# The fuzz harness: a libFuzzer program with --enable-fuzz (CC=clang), and
# always a replay of its committed corpus under make check.
check_PROGRAMS += tests/test_events_fuzz
TESTS += tests/test_events_fuzz
tests_test_events_fuzz_SOURCES = tests/test_events_fuzz.c tests/fuzz/fuzz_events.c
tests_test_events_fuzz_CFLAGS = $(TEST_CFLAGS)
tests_test_events_fuzz_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/fixtures tests/fuzz/corpus tests/fuzz/README.md

if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_events
tests_fuzz_fuzz_events_SOURCES = tests/fuzz/fuzz_events.c
tests_fuzz_fuzz_events_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer -static
tests_fuzz_fuzz_events_LDADD = $(EVSNN_LIBS)
endif
