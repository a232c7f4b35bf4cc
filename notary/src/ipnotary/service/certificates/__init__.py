"""The certificate as people receive it: the printable PDF and the links a holder shares.

Start at :mod:`.pdf` (``CertificatePdf.render``: the page, its attachment and its signature);
:mod:`.document_signer` holds the PDF signing key and certificate, :mod:`.sharing` the capability
links (``/v1/shared/certificates/{id}?token=...``) printed on the page as a QR code.
``docs/certificate-pdf.md`` describes the document and how to check it with other tools.
"""

from __future__ import annotations

from ipnotary.service.certificates.document_signer import DocumentSigner
from ipnotary.service.certificates.pdf import CertificatePdf, RenderedPdf
from ipnotary.service.certificates.sharing import ShareLinks

__all__ = ["CertificatePdf", "DocumentSigner", "RenderedPdf", "ShareLinks"]
