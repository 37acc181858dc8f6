"""Credentials of a server that listens beyond loopback: a serving certificate and a
bearer token.

When no certificate is given, :func:`self_signed` makes a private CA and a serving
certificate it signs for the listening address (and ``localhost``), as kubeadm makes its
``ca.crt`` and ``apiserver.crt``; the kubeconfig then pins that CA
(``certificate-authority-data``), so clients verify the server rather than skip
verification. Keys are ECDSA P-256. The token is 32 random bytes, URL-safe.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Credentials", "from_files", "new_token", "self_signed"]

_VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class Credentials:
    """A serving certificate chain and key (PEM), and the CA a client should trust."""

    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes

    def context(self) -> ssl.SSLContext:
        """A server-side TLS context (TLS 1.2 or later) with this certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain reads files only: hand it a private directory's files.
        with tempfile.TemporaryDirectory(prefix="servicecidr-tls-") as d:
            cert, key = Path(d) / "tls.crt", Path(d) / "tls.key"
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(self.key_pem)
            cert.write_bytes(self.cert_pem)
            ctx.load_cert_chain(cert, key)
        return ctx


def new_token() -> str:
    """A fresh bearer token."""
    return secrets.token_urlsafe(32)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def self_signed(host: str, *, now: datetime.datetime | None = None) -> Credentials:
    """A new CA and a serving certificate for ``host`` (an IP or a DNS name) signed by it."""
    now = now or datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("servicecidr-ca")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    for loopback in ("127.0.0.1", "::1"):
        ip = x509.IPAddress(ipaddress.ip_address(loopback))
        if ip not in names:
            names.append(ip)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("servicecidr"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName(names), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return Credentials(
        cert_pem=cert.public_bytes(pem),
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ca_pem=ca.public_bytes(pem),
    )


def from_files(cert_file: str, key_file: str, ca_file: str | None = None) -> Credentials:
    """A certificate and key a user gives (``--tls-cert-file``, ``--tls-private-key-file``);
    clients are told to trust ``ca_file``, or the certificate file itself."""
    cert = Path(cert_file).read_bytes()
    key = Path(key_file).read_bytes()
    ca = Path(ca_file).read_bytes() if ca_file else cert
    return Credentials(cert, key, ca)
