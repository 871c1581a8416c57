# src/train: BPTT over sparse traces, Adam.
evsnninclude_HEADERS += include/evsnn/train.h
libevsnn_la_SOURCES += src/train/bptt.c src/train/adam.c src/train/loop.c src/train/dense.c src/train/batched.c \
  src/train/train_impl.h

check_PROGRAMS += tests/test_train
TESTS += tests/test_train
tests_test_train_SOURCES = tests/test_train.c
tests_test_train_CFLAGS = $(TEST_CFLAGS)
tests_test_train_LDADD = $(TEST_LIBS)
