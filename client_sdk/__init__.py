"""Client SDK of the IP notary: verify certificates without trusting the operator, and talk to it.

Start with :func:`verify_certificate` (offline, or against any chain node through
:func:`open_chain_view`) and :class:`NotaryClient` (submit, fetch, wait, download).
"""

from client_sdk.certificate import Certificate, InclusionProof, Receipt
from client_sdk.client import NotaryClient, Submission
from client_sdk.errors import (
    APIError,
    ChainReadError,
    ClientSDKError,
    ContentIntegrityError,
    DecryptionError,
    FormatError,
    TransportError,
    VerificationError,
)
from client_sdk.fingerprint import Fingerprint, fingerprint_bytes, fingerprint_file
from client_sdk.verify import ContentDigests, Step, VerificationResult, verify_certificate

__all__ = [
    "APIError",
    "Certificate",
    "ChainReadError",
    "ClientSDKError",
    "ContentDigests",
    "ContentIntegrityError",
    "DecryptionError",
    "Fingerprint",
    "FormatError",
    "InclusionProof",
    "NotaryClient",
    "Receipt",
    "Step",
    "Submission",
    "TransportError",
    "VerificationError",
    "VerificationResult",
    "fingerprint_bytes",
    "fingerprint_file",
    "verify_certificate",
]
