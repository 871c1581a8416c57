# src/engine: see the module header in include/evsnn/.
