/* evsnn/time.h: the one time domain every part of evsnn works in.
 *
 * A timestamp is an int64 count of microseconds with
 *   0 <= t < EVSNN_T_END = 2^61 us   (about 73,000 years).
 * Readers refuse an event outside it (EVSNN_ERANGE, naming the event), the
 * writers and the continuous-time engine refuse one too, so no other code
 * needs to think about the limits: with both operands in the domain, t + d
 * (a delay or a window no longer than the domain) and t - t0 never overflow,
 * and t + 1 is always a later time. 2^61 is where our own format's signed
 * 62-bit delta (docs/event-format.md) stops reaching from 0; Unix-epoch
 * times, the largest any supported format stores today (AEDAT 4.0), are
 * about 2^51. Negative times belong to no recording: they only come from
 * broken or hostile files. See docs/event-readers.md, "Time".
 */
#ifndef EVSNN_TIME_H
#define EVSNN_TIME_H

#include <stdint.h>

#define EVSNN_T_END (INT64_C(1) << 61)

/* Non-zero when t is a timestamp evsnn accepts. */
static inline int evsnn_time_ok(int64_t t) { return t >= 0 && t < EVSNN_T_END; }

#endif
