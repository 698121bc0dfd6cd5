"""The public transparency report: what the platform shared, with whom, and what users chose,
in counts too coarse to single anyone out."""
