"""`annstudy bench`: training and evaluation throughput, measured in one run (throughput.py)."""
