"""``sedbench``: placeholder until the benchmark lands."""
import sys


def main(argv=None) -> int:
    print("error: sedbench is not implemented yet", file=sys.stderr)
    return 2
