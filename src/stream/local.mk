# src/stream: see the module header in include/evsnn/.
