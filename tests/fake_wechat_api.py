"""A fake of WeChat's API servers on loopback, speaking the real HTTP protocol.

    GET  /cgi-bin/token?grant_type=client_credential&appid=...&secret=...
    POST /cgi-bin/message/custom/send?access_token=...   {"touser", "msgtype": "text", "text": {"content"}}

Scriptable: `fail_next(45015)` makes the next send answer that errcode (`touser=` the next send
to that claimant, so a late send to another cannot take it); `expire_tokens()` makes
every token issued so far answer 40001 (as after a token was refreshed elsewhere); `delay`
slows every answer. It counts token fetches and records every message accepted.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlparse

ERRMSG = {40001: "invalid credential, access_token is invalid or not latest",
          42001: "access_token expired",
          45015: "response out of time limit or subscription is canceled",
          45047: "out of response count limit",
          40013: "invalid appid"}


@dataclass
class Sent:
    touser: str
    content: str
    token: str
    at: float


class FakeWeChatApi:
    def __init__(self, *, app_id: str = "wxfake0000000001", app_secret: str = "fake-secret",
                 expires_in: int = 7200) -> None:
        self.app_id, self.app_secret, self.expires_in = app_id, app_secret, expires_in
        self.delay = 0.0
        self.token_fetches = 0
        self.valid_tokens: set = set()
        self.sent: List[Sent] = []
        self.refused: List[Dict[str, Any]] = []
        self._script: List[Tuple[int, Optional[str]]] = []  # (errcode, for this touser or any)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeWeChatApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- scripting ---

    def fail_next(self, *errcodes: int, touser: Optional[str] = None) -> None:
        with self._lock:
            self._script.extend((code, touser) for code in errcodes)

    def expire_tokens(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.refused.clear()
            self._script.clear()
            self.delay = 0.0

    def texts_to(self, touser: str) -> List[str]:
        with self._lock:
            return [s.content for s in self.sent if s.touser == touser]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout} s; sent: {self.sent}, refused: {self.refused}")

    # --- the protocol ---

    def _token(self, query: Dict[str, str]) -> Dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
            return {"errcode": 40013, "errmsg": ERRMSG[40013]}
        with self._lock:
            self.token_fetches += 1
            token = f"fake-token-{self.token_fetches}"
            self.valid_tokens.add(token)
        return {"access_token": token, "expires_in": self.expires_in}

    def _send(self, query: Dict[str, str], body: Any) -> Dict[str, Any]:
        token = query.get("access_token", "")
        with self._lock:
            if token not in self.valid_tokens:
                return {"errcode": 40001, "errmsg": ERRMSG[40001]}
            if not isinstance(body, dict) or body.get("msgtype") != "text" or not body.get("touser"):
                return {"errcode": 40008, "errmsg": "invalid message type"}
            content = (body.get("text") or {}).get("content", "")
            if len(content.encode("utf-8")) > 2048:
                return {"errcode": 45002, "errmsg": "content size out of limit"}
            scripted = next((i for i, (_, to) in enumerate(self._script) if to in (None, body["touser"])), None)
            if scripted is not None:
                code, _ = self._script.pop(scripted)
                self.refused.append({"errcode": code, "touser": body["touser"], "content": content})
                return {"errcode": code, "errmsg": ERRMSG.get(code, "scripted error")}
            self.sent.append(Sent(body["touser"], content, token, time.time()))
        return {"errcode": 0, "errmsg": "ok"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, payload: Dict[str, Any], status: int = 200) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; encoding=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _query(self) -> Dict[str, str]:
                return {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}

            def do_GET(self) -> None:
                time.sleep(fake.delay)
                if urlparse(self.path).path == "/cgi-bin/token":
                    self._answer(fake._token(self._query()))
                else:
                    self._answer({"errcode": 404, "errmsg": "not found"}, 404)

            def do_POST(self) -> None:
                time.sleep(fake.delay)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if urlparse(self.path).path != "/cgi-bin/message/custom/send":
                    self._answer({"errcode": 404, "errmsg": "not found"}, 404)
                    return
                try:
                    body: Optional[Any] = json.loads(raw.decode("utf-8"))
                except ValueError:
                    self._answer({"errcode": 47001, "errmsg": "data format error"})
                    return
                self._answer(fake._send(self._query(), body))

        return Handler
