"""topolint: static analysis for message-passing topologies."""

from __future__ import annotations

import importlib.util
import os
import sys

__version__ = "0.1.0"


def _mount_rules() -> None:
    """Make ``topolint.rules`` importable from a source checkout.

    The rule catalogue lives in the top-level ``rules/`` folder and is installed as
    ``topolint.rules`` (see ``package-dir`` in pyproject.toml).  When this package is
    imported straight from the checkout (the checkout's root on ``sys.path``), mount that
    folder under the same name.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.isdir(os.path.join(here, "rules")) or "topolint.rules" in sys.modules:
        return
    init = os.path.join(os.path.dirname(here), "rules", "__init__.py")
    if not os.path.isfile(init):
        return
    spec = importlib.util.spec_from_file_location(
        "topolint.rules", init, submodule_search_locations=[os.path.dirname(init)]
    )
    if spec is None or spec.loader is None:  # pragma: no cover
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["topolint.rules"] = module
    spec.loader.exec_module(module)
    globals()["rules"] = module


_mount_rules()
