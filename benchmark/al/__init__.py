"""The active-learning benchmark: aggregation strategies, diversification, the AL loop and
the runner."""
