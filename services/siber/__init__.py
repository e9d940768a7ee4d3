"""SIBER: the regency's newsroom, from an OPD's draft to a published article, and who went silent."""
