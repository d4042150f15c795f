"""Mutual TLS between nodes: the serving node requires a client certificate
from its CA; a peer presenting one syncs, a peer without one is refused."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from telsec.federation.peers import Tls, add_peer
from telsec.federation.sync import sync_peer
from telsec.stix.tlp import Tlp
from tests.federation.cluster import Node
from tests.interop.hub import attack_pattern


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(
    directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[str, str]:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def make_pki(directory: Path) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("coalition test CA"))
        .issuer_name(_name("coalition test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        common: str, usage: x509.ObjectIdentifier, san: bool
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256()), key

    paths = {"ca": str(directory / "ca.pem")}
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["server_cert"], paths["server_key"] = _write(
        directory, "server", *leaf("uk.node", ExtendedKeyUsageOID.SERVER_AUTH, True)
    )
    paths["client_cert"], paths["client_key"] = _write(
        directory, "client", *leaf("us.node", ExtendedKeyUsageOID.CLIENT_AUTH, False)
    )
    return paths


@pytest.fixture
def mtls_pair(tmp_path: Path) -> Iterator[tuple[Node, Node, dict[str, str]]]:
    pki = make_pki(tmp_path)
    uk = Node(
        "uk",
        tmp_path / "uk",
        scheme="https",
        serve_args=[
            "--no-sync",
            "--tls-cert",
            pki["server_cert"],
            "--tls-key",
            pki["server_key"],
            "--tls-client-ca",
            pki["ca"],
        ],
        extra_env={
            "TEST_CA": pki["ca"],
            "TEST_CLIENT_CERT": pki["client_cert"],
            "TEST_CLIENT_KEY": pki["client_key"],
        },
    ).create()
    us = Node("us", tmp_path / "us").create()
    try:
        uk.start()
        yield uk, us, pki
    finally:
        uk.stop()
        us.stop()


def test_a_peer_with_a_client_certificate_syncs_one_without_is_refused(
    mtls_pair: tuple[Node, Node, dict[str, str]],
) -> None:
    uk, us, pki = mtls_pair
    _, token = add_peer(uk.db.engine, "us", us.url, token=None, pull=[], into="coalition")
    add_peer(
        us.db.engine,
        "uk",
        uk.url,
        token=token,
        pull=["coalition"],
        into="coalition",
        tls=Tls(pki["ca"], pki["client_cert"], pki["client_key"]),
    )
    uk.post([attack_pattern("over mutual TLS", tlp=Tlp.GREEN)])
    [outcome] = sync_peer(us.db.engine, "uk")
    assert (outcome.error, outcome.stored) == (None, 1)

    # the same node, trusting the CA but presenting no certificate: refused
    add_peer(
        us.db.engine,
        "uk-no-cert",
        uk.url,
        token=token,
        pull=["coalition"],
        into="coalition",
        tls=Tls(pki["ca"]),
    )
    [refused] = sync_peer(us.db.engine, "uk-no-cert")
    assert refused.error is not None and refused.stored == 0
    # and one that does not trust the server's CA refuses the server
    add_peer(
        us.db.engine, "uk-untrusted", uk.url, token=token, pull=["coalition"], into="coalition"
    )
    [untrusted] = sync_peer(us.db.engine, "uk-untrusted")
    assert untrusted.error is not None and "certificate" in untrusted.error.lower()
