"""Fruits decoupling: a monolith whose fruits move, data first, into a microservice."""

__version__ = "0.1.0"
