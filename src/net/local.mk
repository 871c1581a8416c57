# src/net: see the module header in include/evsnn/.
