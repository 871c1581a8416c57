/* evsnn: event-driven sparse spiking neural networks.
 *
 * A tour of the library, in the order the data flows:
 *   evsnn/error.h    error codes and the per-thread detail line
 *   evsnn/rng.h      the seeded PRNG every random result comes from
 *   evsnn/time.h     the time domain: 0 <= t < 2^61 microseconds
 *   evsnn/kernels.h  column add / scatter / dot, SIMD with scalar twins
 *   evsnn/net.h      the network description: sizes, weights, thresholds
 *   evsnn/encode.h   Poisson (Bernoulli) rate encoding of images
 *   evsnn/dvs.h      a DVS sensor emulator: frames and saccades to events
 *   evsnn/dataset.h  IDX (MNIST) files, raw or gzip
 *   evsnn/events.h   event files: streams, format readers, our gzip container
 *   evsnn/engine.h   the event-driven engine and the dense CBLAS reference
 *   evsnn/sensor.h   sensor events as input: pixel maps, binning into steps
 *   evsnn/ctime.h    the continuous-time engine: timestamped events, exp decay
 *   evsnn/stats.h    spikes, silent neurons, synaptic ops vs dense MACs, per population
 *   evsnn/train.h    BPTT over sparse traces, Adam, the epoch and test loops
 *   evsnn/model.h    model files: network, metadata, Adam state, CRC-32
 *   evsnn/nir.h      NIR graphs (HDF5): read, check, write, map onto the network
 *
 * Conventions: functions return 0 or a negative EVSNN_E* code; the caller
 * owns every struct it passes in, the library owns the buffers inside it,
 * and each *_free accepts NULL-initialised or partly built structs.
 */
#ifndef EVSNN_H
#define EVSNN_H

#define EVSNN_VERSION "0.1.0"

#include "evsnn/error.h"
#include "evsnn/events.h"
#include "evsnn/kernels.h"
#include "evsnn/rng.h"
#include "evsnn/time.h"
#include "evsnn/net.h"
#include "evsnn/encode.h"
#include "evsnn/dvs.h"
#include "evsnn/engine.h"
#include "evsnn/sensor.h"
#include "evsnn/ctime.h"
#include "evsnn/stats.h"
#include "evsnn/dataset.h"
#include "evsnn/train.h"
#include "evsnn/model.h"
#include "evsnn/nir.h"

#endif
