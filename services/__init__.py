"""Simpul: the regency's PPID, LAPOR!, SIBER and notifier services."""
