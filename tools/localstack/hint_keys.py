"""The local stack's id_token_hint signing key: an RSA key the app signs invitation hints with
(HINT_SIGNING_KEY), as Key Vault holds it in Azure. Made once per data folder and kept, so hints
and the JWKS stay stable across restarts of `make run`.

Usage: python -m tools.localstack.hint_keys [--dir .local/hint]  (prints the key file's path)
"""

from __future__ import annotations

import argparse
import os
import pathlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_DIR = pathlib.Path(".local/hint")


def new_private_key_pem() -> str:
    """A fresh RSA 2048 private key, PKCS#8 PEM: what the app reads from HINT_SIGNING_KEY."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def ensure_hint_key(directory: pathlib.Path = DEFAULT_DIR) -> pathlib.Path:
    """The signing key's file in `directory`, created (readable by the owner only) unless it is there."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "signing-key.pem"
    if not path.exists():
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(new_private_key_pem())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR, help="output directory")
    print(ensure_hint_key(parser.parse_args().dir))


if __name__ == "__main__":
    main()
