# src/encode: see the module header in include/evsnn/.
