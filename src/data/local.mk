# src/data: see the module header in include/evsnn/.
