# src/plot: see the module header in include/evsnn/.
