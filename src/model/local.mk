# src/model: the model file format (docs/model-format.md).
evsnninclude_HEADERS += include/evsnn/model.h
libevsnn_la_SOURCES += src/model/model.c

check_PROGRAMS += tests/test_model
TESTS += tests/test_model
tests_test_model_SOURCES = tests/test_model.c
tests_test_model_CFLAGS = $(TEST_CFLAGS)
tests_test_model_LDADD = $(TEST_LIBS)
