# src/dist: the processes of one training run, for the evsnn command. With
# Open MPI (configure --with-mpi, or found), the ranks under mpirun; without,
# one process. The library never sees MPI (evsnn_reducer_t is its seam).
evsnn_SOURCES += src/dist/dist.h src/dist/dist.c
if HAVE_MPI
evsnn_SOURCES += src/dist/mpi.c
evsnn_CFLAGS += $(MPI_CFLAGS)
evsnn_LDADD += $(MPI_LIBS)
else
evsnn_SOURCES += src/dist/single.c
endif

# Under mpirun as a user runs it; skipped with a message when HAVE_MPI is no.
check_PROGRAMS += tests/test_mpi
TESTS += tests/test_mpi
tests_test_mpi_SOURCES = tests/test_mpi.c tests/run.h
EXTRA_DIST += tests/lsan-mpi.supp
tests_test_mpi_CFLAGS = $(TEST_CFLAGS)
tests_test_mpi_LDADD = $(TEST_LIBS)
AM_TESTS_ENVIRONMENT += EVSNN_HAVE_MPI='$(HAVE_MPI)'; export EVSNN_HAVE_MPI;
