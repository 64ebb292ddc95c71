"""Calling the app's Gradio events the way its page does: by number, over ``/gradio_api/queue/join``."""

from __future__ import annotations

import json
import secrets

import requests

COOKIE = "visionary_session"


def gradio_events(server) -> dict[str, dict]:
    """Every event of the running app by api name, from its ``/config`` (the page's own list)."""
    config = requests.get(server.api("/config"), timeout=60).json()
    return {dep["api_name"]: dep for dep in config["dependencies"] if dep.get("backend_fn")}


def call_event(server, event: dict, data: list, token: str | None) -> dict:
    """Run one event as the page does; the ``process_completed`` message."""
    session = secrets.token_hex(8)
    with requests.Session() as http:
        if token:
            http.cookies.set(COOKIE, token)
        join = http.post(server.api("/gradio_api/queue/join"), timeout=60, json={
            "data": data, "event_data": None, "fn_index": event["id"], "session_hash": session,
            "trigger_id": event["targets"][0][0] if event["targets"] else None})
        assert join.status_code == 200, join.text
        event_id = join.json()["event_id"]
        with http.get(server.api("/gradio_api/queue/data"), params={"session_hash": session}, stream=True,
                      timeout=120) as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith(b"data:") else {}
                if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                    return message
    raise AssertionError(f"no result for the event {event['api_name']}")


def gradio_upload(server, token: str, content: bytes, name: str) -> dict:
    """A file uploaded through Gradio's upload route as the holder of ``token``, as the page's FileData."""
    reply = requests.post(server.api("/gradio_api/upload"), files={"files": (name, content)},
                          cookies={COOKIE: token}, timeout=60)
    assert reply.status_code == 200, reply.text
    return file_data(reply.json()[0], name)


def file_data(path: str, name: str = "file") -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}
