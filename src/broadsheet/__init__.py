"""Broadsheet: a self-hostable AI news desk."""

__version__ = "0.1.0"
