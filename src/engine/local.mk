# src/engine: the event-driven engine and the dense CBLAS reference.
evsnninclude_HEADERS += include/evsnn/engine.h
libevsnn_la_SOURCES += src/engine/event.c src/engine/dense.c

check_PROGRAMS += tests/test_engine
TESTS += tests/test_engine
tests_test_engine_SOURCES = tests/test_engine.c
tests_test_engine_CFLAGS = $(TEST_CFLAGS)
tests_test_engine_LDADD = $(TEST_LIBS)

# The continuous-time engine (timestamped events, lazy exp decay).
evsnninclude_HEADERS += include/evsnn/ctime.h
libevsnn_la_SOURCES += src/engine/ctime.c
check_PROGRAMS += tests/test_ctime
TESTS += tests/test_ctime
tests_test_ctime_SOURCES = tests/test_ctime.c tests/graphs.h
tests_test_ctime_CFLAGS = $(TEST_CFLAGS)
tests_test_ctime_LDADD = $(TEST_LIBS)
