"""Reading what the stages wrote: a text or JSON file, refused when it is missing, too large or
malformed, never raising."""
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 5 * 1024 * 1024   # a larger file is not something the pipeline wrote


def read_text_file(path):
    """A file's text, or None when it is missing, too large or unreadable."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            log.warning("Not reading %s: larger than %d bytes", path, MAX_FILE_BYTES)
            return None
        return path.read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        log.warning("Could not read %s", path, exc_info=True)
        return None


def read_json_object(path):
    """The JSON object in a file, or None when it is missing, malformed or not an object."""
    text = read_text_file(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        log.warning("Not reading %s: it is not valid JSON", path, exc_info=True)
        return None
    return data if isinstance(data, dict) else None
