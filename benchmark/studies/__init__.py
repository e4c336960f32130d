"""Studies beside the benchmark: the detector study and the difficulty sweep."""
