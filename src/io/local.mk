# src/io: see the module header in include/evsnn/.
