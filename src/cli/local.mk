# src/cli: the evsnn command, one file per subcommand.
bin_PROGRAMS += evsnn
evsnn_SOURCES = src/cli/main.c src/cli/cli.h src/cli/json.c src/cli/json.h src/cli/parallel.c src/cli/stop.c src/cli/cmd_bench.c
evsnn_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS) $(CAIRO_CFLAGS)
evsnn_LDADD = libevsnn_stream.la libevsnn_plot.la $(EVSNN_LIBS) $(LIBUV_LIBS) $(CAIRO_LIBS)
evsnn_SOURCES += src/cli/cmd_events.c
evsnn_SOURCES += src/cli/cmd_encode.c
evsnn_SOURCES += src/cli/cmd_train.c src/cli/cmd_test.c
evsnn_SOURCES += src/cli/cmd_stats.c src/cli/cmd_replay.c src/cli/map.c

check_PROGRAMS += tests/test_cli
TESTS += tests/test_cli
tests_test_cli_SOURCES = tests/test_cli.c src/cli/json.c
tests_test_cli_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_test_cli_LDADD = $(TEST_LIBS) $(JANSSON_LIBS)
evsnn_SOURCES += src/cli/cmd_serve.c
evsnn_SOURCES += src/cli/cmd_plot.c
evsnn_SOURCES += src/cli/cmd_nir.c

# evsnn stats and evsnn replay (continuous time, libuv pacing).
check_PROGRAMS += tests/test_replay
TESTS += tests/test_replay
tests_test_replay_SOURCES = tests/test_replay.c
tests_test_replay_CFLAGS = $(TEST_CFLAGS)
tests_test_replay_LDADD = $(TEST_LIBS)

# The time domain at its limits and stopping on signals, through the library
# and the evsnn command.
check_PROGRAMS += tests/test_limits
TESTS += tests/test_limits
tests_test_limits_SOURCES = tests/test_limits.c tests/aedat4_packets.h
tests_test_limits_CFLAGS = $(TEST_CFLAGS)
tests_test_limits_LDADD = $(TEST_LIBS)
