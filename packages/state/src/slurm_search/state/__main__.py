"""`python -m slurm_search.state`: see `_command`."""

from ._command import main

if __name__ == "__main__":
    raise SystemExit(main())
