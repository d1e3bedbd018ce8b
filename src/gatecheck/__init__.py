"""gatecheck: schema gates for CI, checked against the live database and the SQL in your code."""

__version__ = "0.1.0"
