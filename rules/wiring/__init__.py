"""Wiring rules: how sockets meet."""
