"""The app's own signing keys, as settings carry them (PEM)."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey


def load_private_key(pem: str) -> RSAPrivateKey:
    """An RSA private key from PEM (PKCS#1 or PKCS#8); ValueError for anything else."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the hint signing key must be an RSA private key")
    return key
