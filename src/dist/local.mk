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
