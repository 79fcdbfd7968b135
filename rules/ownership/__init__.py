"""Ownership rules: who owns each process, and whether the contracts between owners fit."""
