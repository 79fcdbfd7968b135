"""The rule catalogue: one module per rule, grouped in packages by family.

Installed as ``topolint.rules``; :func:`topolint.lint.engine.catalogue` discovers every module
that defines ``NAME`` and ``check``.  See :mod:`topolint.lint.rule` for the shape of a rule.
"""
