# src/kernels: column add, scatter and dot, in scalar, AVX2 and AVX-512.
evsnninclude_HEADERS += include/evsnn/kernels.h
libevsnn_la_SOURCES += src/kernels/kernels_impl.h src/kernels/select.c src/kernels/scalar.c \
	src/kernels/avx2.c src/kernels/avx512.c

check_PROGRAMS += tests/test_kernels
TESTS += tests/test_kernels
tests_test_kernels_SOURCES = tests/test_kernels.c
tests_test_kernels_CFLAGS = $(TEST_CFLAGS)
tests_test_kernels_LDADD = $(TEST_LIBS)
