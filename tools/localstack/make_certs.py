"""Create a local CA and a loopback server certificate for the local stack.

The stand-in identity provider must speak HTTPS because MSAL refuses plain
HTTP authorities; clients trust it by pointing REQUESTS_CA_BUNDLE (Python) or
NODE_EXTRA_CA_CERTS (Node) at the generated ``ca.pem``.

Usage: python -m tools.localstack.make_certs [--dir .local/certs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import pathlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DIR = pathlib.Path(".local/certs")
CA_VALIDITY = dt.timedelta(days=3650)
SERVER_VALIDITY = dt.timedelta(days=730)
# Regenerate a little before expiry so a long test run never straddles it.
RENEW_MARGIN = dt.timedelta(days=7)


@dataclass(frozen=True)
class CertPaths:
    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


def ensure_certs(directory: pathlib.Path = DEFAULT_DIR) -> CertPaths:
    """Create the CA and the localhost certificate unless valid ones exist."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key_path = directory / "ca.pem", directory / "ca-key.pem"
    paths = CertPaths(ca=ca_path, cert=directory / "localhost.pem", key=directory / "localhost-key.pem")

    if not (ca_path.exists() and ca_key_path.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(ca_key_path, ca_key)
        _write_cert(ca_path, _build_ca(ca_key))

    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    if not _server_cert_is_usable(paths.cert, paths.key, ca_cert):
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise SystemExit(f"{ca_key_path} is not the EC key this script creates; delete the folder to start over")
        ca_key = loaded
        server_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(paths.key, server_key)
        _write_cert(paths.cert, _build_server_cert(server_key, ca_cert, ca_key))
    return paths


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _build_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rconnect local development CA")])
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _build_server_cert(key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        # The server cert must not outlive its issuer, or verification fails.
        .not_valid_after(min(now + SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _server_cert_is_usable(cert_path: pathlib.Path, key_path: pathlib.Path, ca_cert: x509.Certificate) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        # Unreadable, or signed by a CA that has since been replaced.
        return False
    return cert.not_valid_after_utc - RENEW_MARGIN > _now()


def _write_key(path: pathlib.Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Private keys are readable by the owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def _write_cert(path: pathlib.Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR, help="output directory")
    paths = ensure_certs(parser.parse_args().dir)
    print(f"CA:          {paths.ca}")
    print(f"Certificate: {paths.cert}")
    print(f"Private key: {paths.key}")


if __name__ == "__main__":
    main()
