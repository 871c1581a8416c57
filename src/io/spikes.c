/* Spike records (evsnn/events.h): how a network's spikes sit in an event
 * file of kind SPIKES. evsnn plot raster --record and evsnn replay --out
 * write them and plot raster and replay read them back; all four go
 * through these three functions, so a change of the convention (say, wider
 * neuron indices for large populations) is made once. */
#include "core/internal.h"
#include "evsnn/error.h"
#include "evsnn/events.h"

void evsnn_spike_info(evsnn_event_info_t *info, const uint32_t *sizes, uint32_t first, uint32_t n_layers,
                      int32_t label, const char *meta) {
  uint32_t widest = 0;
  for (uint32_t m = first; m < n_layers; m++) widest = sizes[m] > widest ? sizes[m] : widest;
  *info = (evsnn_event_info_t){.format = "evsnn", .width = widest, .height = n_layers, .channels = 1,
                               .kind = EVSNN_EVENTS_SPIKES, .label = label, .meta = meta};
}

int evsnn_spike_event(evsnn_event_t *e, int64_t t, uint32_t layer, uint32_t neuron) {
  if (layer > UINT16_MAX || neuron > UINT16_MAX)
    return evsnn__fail(EVSNN_ERANGE, "spike of neuron %u of layer %u: a spike record holds at most %u of each",
                       neuron, layer, UINT16_MAX + 1);
  *e = (evsnn_event_t){.t = t, .x = (uint16_t)neuron, .y = (uint16_t)layer, .p = 1};
  return 0;
}

void evsnn_spike_decode(const evsnn_event_t *e, uint32_t *layer, uint32_t *neuron) {
  *layer = e->y;
  *neuron = e->x;
}
