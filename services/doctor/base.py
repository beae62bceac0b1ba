"""What every doctor check shares: the Check finding, its statuses, and small helpers."""
import importlib.metadata
import re
import subprocess
from dataclasses import asdict, dataclass

OK, WARN, FAIL = "ok", "warn", "fail"
SETUP_FIX = "Run `make setup` (or `.venv/bin/pip install -r requirements.txt`)."
COMMAND_TIMEOUT = 20


@dataclass
class Check:
    """One component's finding."""

    component: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self):
        """The finding as a plain dict (for JSON)."""
        return asdict(self)


def installed_version(distribution):
    """The installed version of a Python distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_tuple(text):
    """Up to three leading numbers of a version text, as a tuple of ints."""
    return tuple(int(part) for part in re.findall(r"[0-9]+", text or "", re.ASCII)[:3])


def run_command(command, stdin=None, timeout=COMMAND_TIMEOUT):
    """(returncode, stdout, stderr) of a short command; raises OSError or TimeoutExpired."""
    result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                            timeout=timeout, stdin=None if stdin is not None else subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr
