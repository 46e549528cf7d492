"""``python -m bench.stage NAME --world DIR --db PATH``: run one benchmark stage (see bench.stages)."""

from bench.stages import main

if __name__ == "__main__":
    raise SystemExit(main())
