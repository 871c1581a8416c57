/* Internal: the dense trainer's forward and backward (src/train/dense.c),
 * which evsnn_trainer_sample calls instead of the event ones when the
 * trainer was made with EVSNN_ENGINE_DENSE. */
#ifndef EVSNN_TRAIN_IMPL_H
#define EVSNN_TRAIN_IMPL_H

#include "evsnn/train.h"

void evsnn__dense_forward(evsnn_trainer_t *tr, const evsnn_input_t *in);
void evsnn__dense_backward(evsnn_trainer_t *tr);

#endif
