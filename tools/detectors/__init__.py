"""Waste detectors: one module per detector, listed in ``tools.detectors.registry``."""
