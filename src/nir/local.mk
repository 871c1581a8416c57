# src/nir: NIR graphs over HDF5 (docs/nir.md).
evsnninclude_HEADERS += include/evsnn/nir.h
libevsnn_la_SOURCES += src/nir/graph.c src/nir/hdf5.c src/nir/discretise.c src/nir/map.c

check_PROGRAMS += tests/test_nir
TESTS += tests/test_nir
tests_test_nir_SOURCES = tests/test_nir.c
tests_test_nir_CFLAGS = $(TEST_CFLAGS) $(HDF5_CFLAGS)
tests_test_nir_LDADD = $(TEST_LIBS)
