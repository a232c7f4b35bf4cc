"""Client SDK of the IP notary: verify certificates without trusting the operator, and talk to it.

Start with :func:`verify_certificate` (under your :class:`TrustPolicy`, offline or against any
chain node through ``client_sdk.chain_view.open_chain_view``) and :class:`NotaryClient` (submit,
fetch, wait, download).
"""

from client_sdk._version import __version__
from client_sdk.certificate import (
    Certificate,
    CertificateV1,
    InclusionProof,
    Receipt,
    parse_certificate,
)
from client_sdk.client import NotaryClient, Submission, WorkSubmission
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
from client_sdk.kinds import RecordKind
from client_sdk.policy import TrustPolicy
from client_sdk.verify import (
    ContentDigests,
    Step,
    TimeSource,
    Verdict,
    VerificationResult,
    verify_certificate,
)

__all__ = [
    "APIError",
    "Certificate",
    "CertificateV1",
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
    "RecordKind",
    "Step",
    "Submission",
    "TimeSource",
    "TransportError",
    "TrustPolicy",
    "Verdict",
    "VerificationError",
    "VerificationResult",
    "WorkSubmission",
    "__version__",
    "fingerprint_bytes",
    "fingerprint_file",
    "parse_certificate",
    "verify_certificate",
]
