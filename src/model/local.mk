# src/model: see the module header in include/evsnn/.
