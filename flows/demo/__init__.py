"""The sample case, as data plus a short driver."""
