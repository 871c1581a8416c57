# src/plot: the drawing layer of evsnn plot (canvas, axes, ticks, legends,
# marks) over cairo. libevsnn_plot is a convenience library (not installed)
# linked into the CLI and its tests, so that libevsnn never links cairo.
noinst_LTLIBRARIES += libevsnn_plot.la
libevsnn_plot_la_SOURCES = src/plot/plot.c src/plot/plot.h
libevsnn_plot_la_CFLAGS = $(AM_CFLAGS) $(CAIRO_CFLAGS)
libevsnn_plot_la_LIBADD = $(CAIRO_LIBS) -lm

check_PROGRAMS += tests/test_plot
TESTS += tests/test_plot
tests_test_plot_SOURCES = tests/test_plot.c
tests_test_plot_CFLAGS = $(TEST_CFLAGS) $(CAIRO_CFLAGS)
tests_test_plot_LDADD = libevsnn_plot.la $(TEST_LIBS) $(CAIRO_LIBS)
