"""topolint: static analysis for message-passing topologies.

The rule catalogue lives in the top-level ``rules/`` folder and is installed as
``topolint.rules`` by the packaging (``package_dir`` in setup.py): an installed or editable
(``pip install -e .``) topolint finds it under that name.
"""

from __future__ import annotations

__version__ = "0.1.0"
