"""``python -m shipyard.compute._jobrun JOB_ID``: supervise a detached job."""

from __future__ import annotations

import sys


def main() -> None:
    from .._workspace import Workspace

    ws = Workspace()
    ws.jobs.run(sys.argv[1])


if __name__ == "__main__":
    main()
