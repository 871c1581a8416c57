# src/plot: the pictures of evsnn plot: the drawing layer (canvas, axes,
# ticks, legends, marks) over cairo, and one file per figure over plain
# arrays. libevsnn_plot is a convenience library (not installed)
# linked into the CLI and its tests, so that libevsnn never links cairo.
noinst_LTLIBRARIES += libevsnn_plot.la
libevsnn_plot_la_SOURCES = src/plot/plot.c src/plot/plot.h src/plot/curves.c src/plot/membrane.c \
  src/plot/raster.c src/plot/reconstruct.c src/plot/anytime.c src/plot/frames.c src/plot/sparsity.c src/plot/maps.c
libevsnn_plot_la_CFLAGS = $(AM_CFLAGS) $(CAIRO_CFLAGS)
libevsnn_plot_la_LIBADD = $(CAIRO_LIBS) -lm

check_PROGRAMS += tests/test_plot
TESTS += tests/test_plot
tests_test_plot_SOURCES = tests/test_plot.c
tests_test_plot_CFLAGS = $(TEST_CFLAGS) $(CAIRO_CFLAGS)
tests_test_plot_LDADD = libevsnn_plot.la $(TEST_LIBS) $(CAIRO_LIBS)
