"""Package layout: the engine in ``topolint/``, the rule catalogue in ``rules/`` installed as
``topolint.rules`` (every family sub-package found automatically, so adding a rule or a
family never touches packaging). Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

packages = find_packages(include=["topolint", "topolint.*"])
packages += ["topolint.rules"] + [f"topolint.rules.{p}" for p in find_packages("rules")]

setup(packages=packages, package_dir={"topolint.rules": "rules"})
