"""Shared code of the deep-learning course: one small module per idea."""

__version__ = "0.1.0"
