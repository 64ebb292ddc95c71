"""uvicorn's httptools protocol, with deadlines for clients that send slowly or not at all.

uvicorn's httptools protocol (0.54) times out only idle keep-alive connections:
a connection that sends part of a request's headers, or nothing, stays open for
ever, the headers may grow without bound, and a request body may trickle in at
a byte a minute. Each such connection costs a socket and memory, so a few
thousand of them take the server down. This protocol adds, per connection:

- a deadline for the headers: a request's head (or a new connection's first one)
  must arrive within ``client_timeout`` seconds, else 408 and the connection is
  closed; a head larger than ``MAX_HEAD_BYTES`` gets 431;
- a watch on the body: while the server waits for more of a request's body, the
  client must send at least ``MIN_BODY_BYTES`` per ``client_timeout`` seconds,
  else the connection is closed. The app sees the client disconnect and drops
  what it received (an upload's temp file is removed). Time the app is not
  reading (uvicorn has paused the socket) is not held against the client;
- no waiting for an unread body: when the response is complete before the
  request's body is (an early error, a refused upload), the connection closes
  instead of reading and discarding the rest.

Browsing pays one timer per request head and one per request body, nothing per byte.
"""

from __future__ import annotations

import logging
from asyncio import TimerHandle
from collections import deque

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("visionary.http")

MAX_HEAD_BYTES = 64 * 1024
MIN_BODY_BYTES = 1024
BODY_CHECKS_PER_TIMEOUT = 4  # the body watch looks every client_timeout/4 s at the last client_timeout s


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, client_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.client_timeout = client_timeout
        self._head_timer: TimerHandle | None = None
        self._in_head = False  # between a request's first byte and the end of its headers
        self._head_bytes = 0
        self._body_timer: TimerHandle | None = None
        self._body_bytes = 0
        self._body_marks: deque[int] = deque(maxlen=BODY_CHECKS_PER_TIMEOUT + 1)

    # ------------------------------------------------------------------ connection
    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc) -> None:
        self._cancel_head_deadline()
        self._stop_body_watch()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Counted only while a head was already open before and is still open after this data, so a request's
        # first read is not counted: the bound is MAX_HEAD_BYTES plus one read.
        head_was_open = self._in_head
        super().data_received(data)
        if head_was_open and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(431, "Request header fields too large.")

    # ------------------------------------------------------------------ request head
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._head_timer is None:
            self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._cancel_head_deadline()
        super().on_headers_complete()
        if any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers):
            self._start_body_watch()

    def _arm_head_deadline(self) -> None:
        self._head_timer = self.loop.call_later(self.client_timeout, self._head_deadline_passed)

    def _cancel_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        responding = self.cycle is not None and not self.cycle.response_complete
        if self._in_head and not responding:
            self._refuse(408, "The request headers did not arrive in time.")
        else:  # a connection that never sent anything, or a pipelined head behind a response still being sent
            self.transport.close()

    # ------------------------------------------------------------------ request body
    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_body_watch()
        super().on_message_complete()

    def _start_body_watch(self) -> None:
        self._stop_body_watch()
        self._body_marks.append(self._body_bytes)
        self._body_timer = self.loop.call_later(self.client_timeout / BODY_CHECKS_PER_TIMEOUT, self._check_body)

    def _stop_body_watch(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        self._body_marks.clear()

    def _check_body(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.cycle is None or not self.cycle.more_body:
            return
        if self.flow.read_paused or self.cycle.waiting_for_100_continue:
            self._body_marks.clear()  # the app is not reading yet: the client is not the one holding things up
        self._body_marks.append(self._body_bytes)
        marks = self._body_marks
        if len(marks) == marks.maxlen and marks[-1] - marks[0] < MIN_BODY_BYTES:
            log.info("closing a connection from %s: its request body stalled for %ss",
                     self.client[0] if self.client else "?", self.client_timeout)
            self.transport.close()
            return
        self._body_timer = self.loop.call_later(self.client_timeout / BODY_CHECKS_PER_TIMEOUT, self._check_body)

    # ------------------------------------------------------------------ response
    def on_response_complete(self) -> None:
        super().on_response_complete()
        unread_body = self.cycle is not None and self.cycle.more_body and not self.pipeline
        if unread_body and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        body = message.encode("ascii")
        self.transport.write(b"".join([
            STATUS_LINE[status], b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n", b"connection: close\r\n\r\n", body]))
        self.transport.close()
