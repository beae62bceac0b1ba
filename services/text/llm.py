"""An optional OpenAI-compatible chat endpoint for abstractive summaries and titles.

Off unless `llm.url` is set. Any failure (no answer in time, an HTTP error, an answer that is
not the JSON asked for) raises LlmError with a reason for the log; the caller keeps its
extractive result.
"""
import json
import re

import requests


class LlmError(Exception):
    """The endpoint did not give a usable answer; the message says why."""


def endpoint(url):
    """The chat-completions URL for a base URL (`…/v1`) or a full one."""
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def chat_json(settings, system, user):
    """Ask the endpoint and return the JSON object it answers with."""
    url = settings.get("url")
    if not url:
        raise LlmError("no llm.url is configured")
    headers = {"Content-Type": "application/json"}
    if settings.get("api_key"):
        headers["Authorization"] = f"Bearer {settings['api_key']}"
    body = {"model": settings.get("model") or "default", "temperature": 0.2,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
    timeout = float(settings.get("timeout") or 30)
    try:
        response = requests.post(endpoint(url), json=body, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise LlmError(f"no answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise LlmError(f"could not reach it ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise LlmError(f"it answered HTTP {response.status_code}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
        content = re.sub(r"^```(?:json)?\s*|\s*```$", "", content.strip())
        answer = json.loads(content)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LlmError(f"its answer was not the JSON asked for ({type(exc).__name__})") from None
    if not isinstance(answer, dict):
        raise LlmError("its answer was not a JSON object")
    return answer
