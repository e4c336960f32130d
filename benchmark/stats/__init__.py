"""Statistics and reports: the study's claims and their tests, ``sedbench report``."""
