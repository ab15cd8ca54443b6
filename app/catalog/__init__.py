"""The catalog: service codes and the region tree (province → city → district) every other domain must use."""
