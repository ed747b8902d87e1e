"""Deadlines for slow clients, on uvicorn's h11 protocol (`TimedH11Protocol`).

uvicorn closes a connection that is idle *between* requests after `timeout_keep_alive`,
but puts no deadline on a request itself: a connection that sends nothing, half a
request head, or a head and then no body (or its body a byte at a time) stays open for
as long as the client likes, each holding a socket and, for a head, the request's task.
This protocol adds two deadlines, neither restarted by incoming bytes:

- the head: `header_timeout_s` from a new connection, or from the first byte of a later
  request on it, until the head is complete; then the connection is closed (there is no
  request to answer yet);
- the body: `body_timeout_s` from the head until the body's last byte. While the app
  still works on the request it answers a late body itself (`Provider.read_body`: a 408);
  a body still arriving once the response is sent (the app refused the request without
  reading it: 401, 413, 429) is drained until the deadline, then the connection is closed.

`timed_protocol(settings)` is the class to give uvicorn as `http=`.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class TimedH11Protocol(H11Protocol):
    header_timeout_s: float = 5.0
    body_timeout_s: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._phase: str | None = None          # "head", "body" or None (idle, or answering)
        self._deadline: asyncio.TimerHandle | None = None
        self._late = False                      # the body's deadline passed while the app worked
        self._enter("head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._enter(None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow(receiving=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._late and self.conn.their_state is h11.SEND_BODY:
            self._close()               # answered, and the rest of the body is overdue
        else:
            self._follow(receiving=False)

    def _follow(self, receiving: bool) -> None:
        """Move to the phase that h11's view of the client's side says."""
        state = self.conn.their_state
        if state is h11.IDLE and (receiving or self._phase == "head" or self.conn.trailing_data[0]):
            self._enter("head")
        elif state is h11.SEND_BODY:
            self._enter("body")
        else:
            self._enter(None)

    def _enter(self, phase: str | None) -> None:
        if phase == self._phase:
            return                      # the same deadline runs on
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase, self._late = phase, False
        if phase is not None:
            timeout = self.header_timeout_s if phase == "head" else self.body_timeout_s
            self._deadline = self.loop.call_later(timeout, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self._phase == "body" and self.cycle is not None and not self.cycle.response_complete:
            self._late = True           # the app is on it: it answers, then the connection closes
            return
        self._close()

    def _close(self) -> None:
        self._enter(None)
        if self.transport.is_closing():
            return
        try:
            self.conn.send(h11.ConnectionClosed())
        except h11.LocalProtocolError:
            pass
        self.transport.close()


def timed_protocol(header_timeout_s: float, body_timeout_s: float) -> type[TimedH11Protocol]:
    """The protocol class with these deadlines (uvicorn makes one instance per connection)."""
    return type("TimedH11Protocol", (TimedH11Protocol,),
                {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s})
