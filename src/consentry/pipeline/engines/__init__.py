"""Export engines: the same batch transform run by threads on one machine, or by Spark."""
