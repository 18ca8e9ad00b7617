"""rulegen: compile a service inventory into proved Prometheus memory-leak alert rules."""

__version__ = "0.1.0"
