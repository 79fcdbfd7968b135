"""Endpoint and security rules: hard-coded hosts, test reaching production, CURVE, pickle."""
