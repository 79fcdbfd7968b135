"""Memory and flow rules (problem 2 of the talk): queue bounds, budgets, rates, drops."""
