"""The private key NetSuite's OAuth 2.0 client credentials flow signs its JWT client assertion with, and the
algorithm it signs with.

NetSuite accepts PS256, PS384 and PS512 (RSA-PSS) and ES256, ES384 and ES512 (ECDSA on P-256, P-384 and P-521);
RSA PKCS#1 v1.5 (RS256 ...) no longer since 1 March 2025. PyJWT signs PS* with any RSA key and ES* only with a key
on the algorithm's own curve; anything else it refuses only while signing (TypeError, NotImplementedError,
InvalidKeyError), so a configuration is checked against its key when it is saved. NetSuite's certificates for OAuth
2.0 client credentials take RSA keys of 3072 or 4096 bits only (Oracle's "Certificate Conditions"): any other
length is refused when configured too, not left for each token request to fail.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
RSA_ALGORITHMS = ("PS256", "PS384", "PS512")
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}  # by the key's curve
ALGORITHMS = (*RSA_ALGORITHMS, *EC_ALGORITHMS.values())
RSA_BITS = (3072, 4096)


def load_signing_key(pem: str) -> SigningKey:
    """The certificate's private key from PEM; ValueError when it is neither an RSA nor an EC private key, or an
    RSA key of a length NetSuite does not take."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"private_key is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("private_key must be an RSA or EC private key (NetSuite signs with PS* or ES*)")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size not in RSA_BITS:
        raise ValueError(
            f"private_key is a {key.key_size}-bit RSA key: NetSuite takes RSA keys of 3072 or 4096 bits "
            "(or EC keys on P-256, P-384 or P-521)"
        )
    return key


def signing_algorithm(key: SigningKey, algorithm: object = None) -> str:
    """``algorithm`` (the connector's option) when ``key`` can sign with it for NetSuite, else ValueError; without
    one the key's own: PS256 for an RSA key, its curve's for an EC key."""
    fitting: tuple[str, ...]
    if isinstance(key, rsa.RSAPrivateKey):
        kind, fitting = "an RSA", RSA_ALGORITHMS
    elif key.curve.name in EC_ALGORITHMS:
        kind, fitting = f"an EC ({key.curve.name})", (EC_ALGORITHMS[key.curve.name],)
    else:
        raise ValueError(f"private_key is an EC key on {key.curve.name}: NetSuite takes P-256, P-384 or P-521 only")
    if not algorithm:
        return fitting[0]
    if algorithm not in fitting:
        raise ValueError(
            f"option algorithm {algorithm!r} cannot sign with {kind} private_key for NetSuite: "
            f"use {' or '.join(fitting)}"
        )
    return str(algorithm)
