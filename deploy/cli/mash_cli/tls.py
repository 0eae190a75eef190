"""The hub's private certificate authority and its brokers' certificates (TLS on every Kafka listener).

Made at setup with the `cryptography` package, never committed: the CA's key stays in the state directory (0600)
and signs each broker's certificate; clients (the services, the CLI, outside agencies) trust only this CA's
certificate, `ca.pem`, which is public and travels in every client configuration.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mash_runtime.firewall.keys import write_secret

CA_DAYS = 3650
BROKER_DAYS = 825  # the longest server certificate lifetime browsers and most TLS clients still accept


@dataclass(frozen=True)
class Keystore:
    """A broker's key and certificate chain as PKCS#12 (Kafka's ssl.keystore.type=PKCS12) and its password."""

    path: Path
    password: str


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MASH hub"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def ensure_ca(directory: Path) -> Path:
    """The CA in `directory` (ca.pem, ca.key), made on first use. Returns the path of its certificate."""
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        return cert_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = _name("MASH hub private CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_secret(key_path, pem_key.decode())
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{directory / 'ca.key'} is not the EC key this CA makes")
    return cert, key


def issue_broker(ca_dir: Path, out: Path, hosts: list[str]) -> Keystore:
    """A broker's keystore signed by the CA, naming every host (DNS name or IP address) clients reach it by.
    Its password is returned, never written beside it: the broker's properties file (0600) holds it."""
    ca_cert, ca_key = _load_ca(ca_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=BROKER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Brokers are clients of each other (replication, the controller quorum) as well as servers.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(24)
    data = pkcs12.serialize_key_and_certificates(
        hosts[0].encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".new")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_bytes(data)
    tmp.rename(out)
    return Keystore(out, password)


def broker_tls_properties(keystore: Path | PurePosixPath, password: str, ca: Path | PurePosixPath) -> str:
    """A Kafka node's TLS settings: its keystore, the hub CA it trusts (other nodes are its peers), and hosts verified."""
    return "\n".join(
        [
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={keystore}",
            f"ssl.keystore.password={password}",
            f"ssl.key.password={password}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={ca}",
            "ssl.endpoint.identification.algorithm=https",
            "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
        ]
    )
