# src/core: errors, aligned allocation, the PRNG.
evsnninclude_HEADERS += include/evsnn/error.h include/evsnn/rng.h include/evsnn/time.h
libevsnn_la_SOURCES += src/core/error.c src/core/alloc.c src/core/rng.c src/core/internal.h

check_PROGRAMS += tests/test_core
TESTS += tests/test_core
tests_test_core_SOURCES = tests/test_core.c
tests_test_core_CFLAGS = $(TEST_CFLAGS)
tests_test_core_LDADD = $(TEST_LIBS)
