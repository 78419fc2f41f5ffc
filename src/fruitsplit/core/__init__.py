"""Pure rules of the system: no I/O, no clock, no randomness, no globals."""
