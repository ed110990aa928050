"""A throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl:
PEM files for Redis, a PKCS12 keystore for the Kafka broker."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Keystore:
    dir: Path
    ca: Path
    cert: Path
    key: Path
    keystore: Path
    password: str


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_keystore(root: Path) -> Keystore:
    root.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(12)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=blindar test CA", cwd=root,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost", cwd=root,
    )  # fmt: skip
    (root / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=root,
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", "server.crt", "-inkey", "server.key", "-certfile", "ca.crt",
        "-name", "broker", "-out", "server.p12", "-passout", f"pass:{password}", cwd=root,
    )  # fmt: skip
    return Keystore(
        root, root / "ca.crt", root / "server.crt", root / "server.key", root / "server.p12",
        password,
    )  # fmt: skip
