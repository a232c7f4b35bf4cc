"""Client SDK of the IP notary: verify certificates without trusting the operator, and talk to it.

Start with :func:`verify_certificate` (under your :class:`TrustPolicy`, offline or against any
chain node through ``ipnotary.sdk.chain_view.open_chain_view``) and :class:`NotaryClient` (submit,
fetch, wait, download); :func:`verify_credential` checks a certificate exported as a W3C
Verifiable Credential (``ipnotary.sdk.vc``).
"""

from ipnotary.sdk._version import __version__
from ipnotary.sdk.certificate import (
    Certificate,
    CertificateV1,
    InclusionProof,
    Receipt,
    parse_certificate,
)
from ipnotary.sdk.client import NotaryClient, Submission, WorkSubmission
from ipnotary.sdk.errors import (
    APIError,
    ChainReadError,
    ClientSDKError,
    ContentIntegrityError,
    DecryptionError,
    FormatError,
    TransportError,
    VerificationError,
)
from ipnotary.sdk.fingerprint import Fingerprint, fingerprint_bytes, fingerprint_file
from ipnotary.sdk.kinds import RecordKind, RecordStatus
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.vc import (
    CredentialStatus,
    CredentialStep,
    CredentialVerificationResult,
    verify_credential,
)
from ipnotary.sdk.verify import (
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
    "CredentialStatus",
    "CredentialStep",
    "CredentialVerificationResult",
    "DecryptionError",
    "Fingerprint",
    "FormatError",
    "InclusionProof",
    "NotaryClient",
    "Receipt",
    "RecordKind",
    "RecordStatus",
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
    "verify_credential",
]
