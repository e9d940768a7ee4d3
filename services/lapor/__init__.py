"""LAPOR!: the regency's side of SP4N-LAPOR!, complaints and aspirations from report to rating."""
