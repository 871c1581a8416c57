# src/train: see the module header in include/evsnn/.
