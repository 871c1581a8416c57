# src/net: the network description.
evsnninclude_HEADERS += include/evsnn/net.h
libevsnn_la_SOURCES += src/net/net.c src/net/describe.c src/net/neuron.c src/net/proj.h src/net/proj_dense.c \
	src/net/proj_conv.c src/net/proj_pool.c

check_PROGRAMS += tests/test_graph
TESTS += tests/test_graph
tests_test_graph_SOURCES = tests/test_graph.c tests/graphs.h tests/smooth.h
tests_test_graph_CFLAGS = $(TEST_CFLAGS)
tests_test_graph_LDADD = $(TEST_LIBS)
