"""Helpers shared by the mock upstreams: text (deterministic token counts),
the request body read and recorded, and the self-tests' HTTP client."""
import json
import urllib.error
import urllib.request


def words(text):
    return text.split()


def text_of(content):
    """Text of a message content: a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def pieces_of(text):
    """The streamed pieces: each word with the space before it (the first without)."""
    ws = words(text)
    return [w if i == 0 else " " + w for i, w in enumerate(ws)]


def read_recorded(handler, too_big):
    """The request body, recorded (handler.record); None when over the
    mock's limit: the connection closes and too_big(error) answers."""
    try:
        body = handler.read_body()
    except ValueError as e:
        handler.close_connection = True
        too_big(e)
        return None
    handler.record(body)
    return body


def http_call(base, path, body=None, method=None, headers=None):
    """A self-test's request to a mock: (status, body text, headers)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():  # the caller's win, Content-Type too
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)
