"""Reading an upload in a child process with hard limits, so no file can cost the server more
than a bounded amount: CPU seconds and memory (the kernel's rlimits; past them the child is
killed), wall-clock time, a lower priority than the server's own work, and the extraction
limits (text, pages, nesting). When the caller hangs up the child is killed too.

```python
extracted = await read_upload("report.pdf", data, "application/pdf", IngestLimits())
```

The child is `python -m emmaus.grounding.sandbox NAME CONTENT_TYPE LIMITS_JSON`: the file on
stdin, `{"kind", "title", "text", "url"}` or `{"error", "status"}` as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
from dataclasses import asdict

from emmaus.errors import DocumentTooLarge, EmmausError, UnsupportedDocument
from emmaus.grounding.extract import Extracted, extract
from emmaus.grounding.limits import ExtractLimits, IngestLimits


def _bound_myself(cpu_seconds: int, memory_bytes: int) -> None:
    """The child limits itself first thing (a preexec hook is unsafe in a threaded server)."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.nice(10)  # the server's requests first


async def read_upload(
    name: str, data: bytes, content_type: str | None, limits: IngestLimits
) -> Extracted:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emmaus.grounding.sandbox",
        name,
        content_type or "",
        json.dumps(asdict(limits)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(data), limits.wall_seconds)
    except TimeoutError as exc:
        raise DocumentTooLarge(
            f"reading the document took longer than {limits.wall_seconds:g} s"
        ) from exc
    finally:
        if process.returncode is None:  # timed out, or the caller went away
            process.kill()
            await process.wait()
    if process.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise DocumentTooLarge(f"reading the document took more than {limits.cpu_seconds} s CPU")
    try:
        answer = json.loads(out)
    except ValueError:
        # Out of memory (a MemoryError or a failed allocation) is the usual reason.
        reason = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        message = f"the document could not be read within bounds: {reason[0]}"
        raise DocumentTooLarge(message) from None
    if "error" in answer:
        error_type = DocumentTooLarge if answer.get("status") == 413 else UnsupportedDocument
        raise error_type(str(answer["error"]))
    return Extracted(answer["kind"], answer["title"], answer["text"], answer["url"])


def main() -> None:
    name, content_type, limits_json = sys.argv[1], sys.argv[2] or None, sys.argv[3]
    given = json.loads(limits_json)
    _bound_myself(int(given["cpu_seconds"]), int(given["memory_bytes"]))
    limits = ExtractLimits(**given["extract"])
    data = sys.stdin.buffer.read()
    try:
        extracted = extract(name, data, content_type, limits)
    except EmmausError as exc:
        json.dump({"error": exc.message, "status": exc.status}, sys.stdout)
        return
    except MemoryError:
        message = "the document needs too much memory to read"
        json.dump({"error": message, "status": 413}, sys.stdout)
        return
    json.dump(asdict(extracted), sys.stdout)


if __name__ == "__main__":
    main()
