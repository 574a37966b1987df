"""Real signing keys and a real JWKS HTTP server on 127.0.0.1, shared by the auth and API tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class SigningKey:
    def __init__(self, kid: str, alg: str, private_key: Any) -> None:
        self.kid = kid
        self.alg = alg
        self.private_key = private_key

    def jwk(self, **overrides: Any) -> dict[str, Any]:
        algorithm = jwt.algorithms.ECAlgorithm if self.alg == "ES256" else jwt.algorithms.RSAAlgorithm
        data = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        data.update({"kid": self.kid, "alg": self.alg, "use": "sig"}, **overrides)
        return {name: value for name, value in data.items() if value is not None}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.private_key, algorithm=self.alg, headers={"kid": self.kid, **header})


def make_ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def make_rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


class JWKSServer:
    """Serves ``self.keys`` as a JWKS document and counts the requests it answers."""

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.requests = 0
        self.status = 200
        self.body: bytes | None = None  # overrides the JWKS document when set
        self.arrived = threading.Event()  # set by every request
        self.gate: threading.Event | None = None  # when set, requests wait for it before answering
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                server.arrived.set()
                if server.gate is not None:
                    server.gate.wait(timeout=5)
                body = server.body if server.body is not None else json.dumps({"keys": server.keys}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/auth/v1/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
