"""Create a local CA and a loopback server certificate for the local stack, with trustme.

The stand-in identity provider (and Azurite with OAuth) must speak HTTPS because MSAL and
azure-identity refuse plain HTTP authorities; clients trust it by pointing REQUESTS_CA_BUNDLE
(Python) or NODE_EXTRA_CA_CERTS (Node) at the generated ``ca.pem``. trustme's certificates do not
expire before the year 3000, so existing files are kept as they are.

Usage: python -m tools.localstack.make_certs [--dir .local/certs]
"""

from __future__ import annotations

import argparse
import os
import pathlib
from dataclasses import dataclass

import trustme

DEFAULT_DIR = pathlib.Path(".local/certs")
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class CertPaths:
    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


def ensure_certs(directory: pathlib.Path = DEFAULT_DIR) -> CertPaths:
    """The CA and the localhost certificate in `directory`, created unless all three files are there."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = CertPaths(ca=directory / "ca.pem", cert=directory / "localhost.pem", key=directory / "localhost-key.pem")
    if all(path.exists() for path in (paths.ca, paths.cert, paths.key)):
        return paths
    ca = trustme.CA(organization_name="rconnect local development CA")
    server = ca.issue_cert(*SERVER_NAMES)
    # The private key is readable by the owner only.
    with os.fdopen(os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(server.private_key_pem.bytes())
    server.cert_chain_pems[0].write_to_path(paths.cert)
    ca.cert_pem.write_to_path(paths.ca)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR, help="output directory")
    paths = ensure_certs(parser.parse_args().dir)
    print(f"CA:          {paths.ca}")
    print(f"Certificate: {paths.cert}")
    print(f"Private key: {paths.key}")


if __name__ == "__main__":
    main()
