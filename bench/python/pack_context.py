"""Packs a build context with the official CLI's own functions, as its
`deploy` command calls them, and prints one JSON line: time spent packing
(interpreter start-up and imports excluded), peak RSS before and after,
and what came out. Used by `pipecat-bench pack`."""

import json
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

from pipecatcloud._utils.build_utils import create_deterministic_tarball, get_exclusions


def status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    context_dir = Path(sys.argv[1])
    hwm_before_kb = status_kb("VmHWM")
    started = time.perf_counter()
    exclusions = get_exclusions(context_dir, [])
    context = create_deterministic_tarball(
        context_dir=str(context_dir),
        exclusions=exclusions,
        dockerfile_path="Dockerfile",
    )
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "hwm_before_kb": hwm_before_kb,
                "hwm_kb": status_kb("VmHWM"),
                "bytes": len(context.tarball),
                "hash": context.context_hash,
                "files": context.file_count,
                "version": "pipecatcloud %s, Python %s"
                % (version("pipecatcloud"), platform.python_version()),
            }
        )
    )


main()
