"""Files named in settings.toml that hold a secret or a key: where a name points, reading a
token, and checking that a TLS certificate and key load together.

The rule for where a file is: an absolute path is used as it is; a bare file name (no ``/``)
is read from ``$CREDENTIALS_DIRECTORY`` when systemd's ``LoadCredential=`` has set it;
anything else is relative to the settings file's folder. A service with ``DynamicUser=yes``
cannot read a root-only file under /etc, but ``LoadCredential=token:/etc/dashboard/token``
hands it a private copy under that name, and the same ``token_file = "token"`` then finds
``/etc/dashboard/token`` when ``dashboard check`` runs from a shell.

Every problem is a ``ValueError`` whose message names the file and the reason, never the
file's contents. Standard library only: settings are read before monkey-patching.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
MAX_TOKEN_BYTES = 4096  # a token is one short line; more means the wrong file
_PEM_CERT = b"-----BEGIN CERTIFICATE-----"
_PEM_KEY = tuple(
    f"-----BEGIN {kind}PRIVATE KEY-----".encode() for kind in ("", "RSA ", "EC ", "ENCRYPTED ")
)


def locate(name: str, base_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where the file a setting names is (see the module docstring for the rule)."""
    environ = os.environ if environ is None else environ
    path = Path(name)
    if path.is_absolute():
        return path
    folder = environ.get(CREDENTIALS_ENV, "")
    if folder and "/" not in name:
        return Path(folder) / name
    return base_dir / path


def read_token(path: Path) -> str:
    """The token a file holds: its one line, the trailing newline cut."""
    data = _read(path, MAX_TOKEN_BYTES + 1)
    if len(data) > MAX_TOKEN_BYTES:
        raise ValueError(f"{path} is larger than {MAX_TOKEN_BYTES} bytes; expected the token alone")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text; expected the token alone") from None
    token = text.rstrip("\r\n")
    if not token.strip():
        raise ValueError(f"{path} is empty; expected the token (a long random string)")
    if "\n" in token or "\r" in token:
        raise ValueError(f"{path} holds more than one line; expected the token alone")
    return token


def check_pem(path: Path, what: str) -> None:
    """Refuse a file that is not a PEM ``what`` ("certificate" or "key")."""
    text = _read(path)
    if what == "certificate" and _PEM_CERT not in text:
        raise ValueError(f"{path} is not a PEM certificate (no '{_PEM_CERT.decode()}' line)")
    if what == "key" and not any(marker in text for marker in _PEM_KEY):
        raise ValueError(f"{path} is not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----')")


def check_pair(cert: Path, key: Path) -> None:
    """Refuse a certificate and key that do not load together, as the server will load them."""
    import ssl  # here, not at the top: nothing else imports it before monkey-patching

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # A callable password: OpenSSL would otherwise prompt on the terminal (or hang a
        # service) for an encrypted key.
        context.load_cert_chain(str(cert), str(key), password=_no_password)
    except _Encrypted:
        raise ValueError(
            f"{key} is encrypted; the server needs the key unencrypted "
            "(keep it private with file permissions or systemd's LoadCredential=)"
        ) from None
    except ssl.SSLError as exc:
        raise ValueError(_tls_reason(cert, key, exc)) from None
    except OSError as exc:
        raise ValueError(f"cannot read {cert} or {key}: {exc.strerror}") from None


class _Encrypted(Exception):
    pass


def _no_password() -> str:
    raise _Encrypted


def _tls_reason(cert: Path, key: Path, exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or str(exc)
    if reason == "KEY_VALUES_MISMATCH":
        return f"{key} is not the key of the certificate {cert} (key values mismatch)"
    return f"{cert} and {key} do not load as a certificate and its key: {reason}"


def _read(path: Path, limit: int = 1 << 20) -> bytes:
    """At most ``limit`` bytes of a regular file, or a ValueError naming it and why not."""
    try:
        if not path.is_file():
            what = "no such file" if not path.exists() else "not a regular file"
            raise ValueError(f"{path}: {what}{_credentials_hint(path)}")
        with path.open("rb") as fh:
            return fh.read(limit)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None


def _credentials_hint(path: Path) -> str:
    folder = os.environ.get(CREDENTIALS_ENV, "")
    if folder and path.parent == Path(folder):
        return (
            f" (a bare name is read from ${CREDENTIALS_ENV}: "
            f"give the unit LoadCredential={path.name}:/path/of/the/file)"
        )
    return ""
