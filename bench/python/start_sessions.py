"""Starts sessions with the official Pipecat Cloud Python SDK, timing each.

Run by pipecat-bench (`cargo run --release -p pipecat-bench -- python`) with
the SDK's own settings in the environment: PIPECAT_API_HOST (where the SDK
sends requests) and, for the TLS server, SSL_CERT_FILE (the bench's
self-signed certificate, read by Python's ssl module, which aiohttp uses).

Each call is what the SDK documents for starting a session:
`await Session(agent_name, api_key, SessionParams(use_daily=True)).start()`.
Prints one JSON object on stdout: versions, per-call durations (µs), wall time.
"""

import argparse
import asyncio
import importlib.metadata
import json
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()

    # The SDK logs every request at DEBUG through loguru, whose default sink
    # is stderr; silence it so the measurement is the HTTP path, not logging.
    from loguru import logger

    logger.remove()

    from pipecatcloud.session import Session, SessionParams

    async def run() -> list[float]:
        durations = []
        for _ in range(args.count):
            started = time.perf_counter_ns()
            session = Session(
                agent_name=args.agent,
                api_key=args.key,
                params=SessionParams(use_daily=True),
            )
            answer = await session.start()
            durations.append((time.perf_counter_ns() - started) / 1000.0)
            if not isinstance(answer, dict) or "sessionId" not in answer:
                raise SystemExit(f"unexpected answer: {answer!r}")
        return durations

    started = time.perf_counter()
    durations = asyncio.run(run())
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "sdk": importlib.metadata.version("pipecatcloud"),
                "aiohttp": importlib.metadata.version("aiohttp"),
                "python": sys.version.split()[0],
                "durations_us": durations,
                "wall_s": wall,
            }
        )
    )


if __name__ == "__main__":
    main()
