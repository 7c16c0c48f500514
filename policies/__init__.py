"""The rule book as data and pure functions: policy packs, rule checks, the working-day calendar. No I/O beyond
reading this package's own data, no clock, no database."""
