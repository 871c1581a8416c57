# src/stats: spike and operation counters per population, and their report.
evsnninclude_HEADERS += include/evsnn/stats.h
libevsnn_la_SOURCES += src/stats/stats.c

check_PROGRAMS += tests/test_stats
TESTS += tests/test_stats
tests_test_stats_SOURCES = tests/test_stats.c
tests_test_stats_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_test_stats_LDADD = $(TEST_LIBS) $(JANSSON_LIBS)
