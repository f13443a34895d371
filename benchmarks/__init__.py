"""Benchmarks of this package against their anchors: ``python benchmarks/<name>.py``."""
