"""Write a topology with N suppression comments, each on an element line (for timing).

A small topology plus one subscriber whose ``subscribe:`` list has N prefixes, each with
``# topolint: ignore[dead-output] ok`` on its line: none of them silences anything, so
every one is matched against the findings and then reported by ``unused-suppression``.

    python benchmarks/suppressions.py 200000 -o /tmp/supp.yaml
    topolint check /tmp/supp.yaml --format json > /dev/null
"""

from __future__ import annotations

import argparse
from pathlib import Path

HEAD = """\
topolint: 1
name: suppressions
runs: continuous
defaults: {sndbuf: 64kB, rcvbuf: 64kB, linger: 0}
messages:
  frame: {max_size: 1kB}
processes:
  camera:
    sockets:
      out: {type: pub, bind: "tcp://127.0.0.1:7001", sends: frame}
  monitor:
    sockets:
      in:
        type: sub
        connect: camera.out
        receives: frame
        subscribe:
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of suppression comments")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    with args.output.open("w", encoding="utf-8") as fh:
        fh.write(HEAD)
        for i in range(args.count):
            fh.write(f"          - p{i}  # topolint: ignore[dead-output] ok\n")


if __name__ == "__main__":
    main()
