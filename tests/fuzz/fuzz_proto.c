/* libFuzzer harness for the serve protocol's decoders (src/stream/proto.c)
 * and the per-connection state machine that drives them
 * (src/stream/session.c). Byte 0 picks the target: even, every frame
 * decoder on the rest as one payload; odd, a session fed the rest as the
 * bytes of a connection, (byte 0 >> 1) + 1 at a time, its replies taken
 * and written back at once, over a small network so that decisions are
 * made. Besides the sanitizers' checks it aborts when a decoder accepts a
 * length its frame cannot have or a session holds more than
 * evsnn__session_max_bytes(). tests/test_proto_fuzz.c replays the corpus
 * (tests/fuzz/corpus-proto) through the same entry point under make check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evsnn/net.h"
#include "stream/proto.h"
#include "stream/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decoders(const uint8_t *p, size_t size) {
  uint32_t len = size > EVSNN_PROTO_MAX_PAYLOAD ? EVSNN_PROTO_MAX_PAYLOAD : (uint32_t)size, at;
  if (size >= EVSNN_PROTO_FRAME_HEADER) {
    int type;
    uint32_t flen;
    evsnn__frame_get(p, &type, &flen);
  }
  evsnn__hello_t h;
  if (evsnn__hello_decode(p, len, &h, &at) == 0 && len < EVSNN_PROTO_HELLO_FIXED + EVSNN_EVENT_HEADER_FIXED) abort();
  evsnn__welcome_t w;
  if (evsnn__welcome_decode(p, len, &w, &at) == 0 && len < EVSNN_PROTO_WELCOME_SIZE) abort();
  evsnn__decision_t d;
  if (evsnn__decision_decode(p, len, &d, &at) == 0 && len != EVSNN_PROTO_DECISION_SIZE) abort();
  evsnn__result_t r;
  if (evsnn__result_decode(p, len, &r, &at) == 0 && len != EVSNN_PROTO_RESULT_FIXED + 4u * r.n_outputs) abort();
  int code;
  uint64_t off, n;
  const char *msg;
  uint32_t ml;
  if (evsnn__error_decode(p, len, &code, &off, &msg, &ml, &at) == 0 && ml + EVSNN_PROTO_ERROR_FIXED != len) abort();
  if (evsnn__end_decode(p, len, &n, &at) == 0 && len != EVSNN_PROTO_END_SIZE) abort();
}

static void session(const uint8_t *p, size_t size, size_t step) {
  static evsnn_net_t net;
  static int have_net;
  if (!have_net) {
    uint32_t sizes[] = {2 * 34 * 34, 8, 2};
    const float scale[] = {0.5f};
    if (evsnn_net_init(&net, sizes, 3, 0.8187f) != 0) abort();
    evsnn_net_init_params(&net, 1, EVSNN_INIT_FANIN, scale);
    have_net = 1;
  }
  evsnn__session_limits_t lim = {.net = &net};
  evsnn__session_t *s;
  size_t most = evsnn__session_max_bytes(&lim);
  if (evsnn__session_new(&s, &lim, 0) != 0) abort();
  uint64_t now = 0;
  while (evsnn__session_phase(s) != EVSNN__SESSION_DROP) {
    uint8_t *b;
    size_t cap, len;
    if (evsnn__session_buf(s, &b, &cap) != 0) break;
    if (cap > 0) {
      if (size == 0) break;
      size_t k = step < cap ? step : cap;
      if (k > size) k = size;
      memcpy(b, p, k);
      p += k, size -= k;
      evsnn__session_received(s, k, ++now);
    }
    evsnn__session_info_t in;
    evsnn__session_info(s, &in);
    if (in.bytes > most) abort();
    if (evsnn__session_take(s, &len, now) != NULL) evsnn__session_written(s, now);
    else if (cap == 0) abort(); /* paused with nothing to write: it could never go on */
    if (evsnn__session_flushed(s)) break;
  }
  evsnn__session_eof(s, NULL);
  evsnn__session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1) session(data + 1, size - 1, (size_t)(data[0] >> 1) + 1);
  else decoders(data + 1, size - 1);
  return 0;
}
