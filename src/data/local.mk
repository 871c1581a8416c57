# src/data: IDX (MNIST) datasets, raw or gzip; see include/evsnn/dataset.h.
evsnninclude_HEADERS += include/evsnn/dataset.h
libevsnn_la_SOURCES += src/data/idx.c src/data/dataset.c src/data/events.c

check_PROGRAMS += tests/test_dataset
TESTS += tests/test_dataset
tests_test_dataset_SOURCES = tests/test_dataset.c
tests_test_dataset_CFLAGS = $(TEST_CFLAGS)
tests_test_dataset_LDADD = $(TEST_LIBS)
