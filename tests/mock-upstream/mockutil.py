"""Text helpers shared by the mock upstreams (deterministic token counts)."""


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
