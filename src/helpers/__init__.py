"""Production line or solution shop: the analysis package behind the notebooks."""

__version__ = "0.1.0"
