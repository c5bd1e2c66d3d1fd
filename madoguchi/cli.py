"""`madoguchi` command line: serve, ingest, ask, eval."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="madoguchi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="start the service")
    args = parser.parse_args(argv)
    print(f"{args.command}: not yet built", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
