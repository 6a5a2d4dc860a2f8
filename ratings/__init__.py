"""The ``ratings`` command line."""
