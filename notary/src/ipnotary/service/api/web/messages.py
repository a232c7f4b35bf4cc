"""What a person reads when something is refused: one message per error code the pages meet, in
the catalog's two languages, and one per status for the rest. The service's own ``detail`` (in
English, naming the field or the limit) is shown beside it, marked as English, for whoever must
fix the input."""

from __future__ import annotations

from ipnotary.service.api.web.i18n import N_
from ipnotary.service.domain.records import Role

__all__ = ["ROLE_NAMES", "error_message", "status_message"]

_BY_CODE = {
    "sign_in_needed": N_("Please sign in to see this page."),
    "sign_in_refused": N_(
        "The email or password is wrong, or the account is locked after repeated failures or "
        "disabled. Try again later, or ask your administrator for a new invitation."
    ),
    "csrf_refused": N_(
        "This form's security token is missing or out of date, so nothing was done. Reload the "
        "page and send the form again."
    ),
    "wrong_role": N_("Your organisation's role does not include this page."),
    "permission_denied": N_("Your organisation's role may not do this."),
    "not_your_persons": N_("Only an administrator may manage this organisation's people."),
    "not_your_key": N_("Only an administrator may manage another organisation's keys."),
    "invitation_invalid": N_(
        "This invitation link is not valid: it was used, replaced by a newer one, or it expired. "
        "Ask your administrator for a new one."
    ),
    "weak_password": N_(
        "Choose a password of at least 12 characters that does not contain your email address."
    ),
    "password_mismatch": N_("The two passwords are not the same."),
    "invalid_email": N_("Enter an email address such as name@example.com."),
    "invalid_name": N_("Enter a name of 1 to 200 characters."),
    "email_taken": N_("This email address already signs in for another organisation."),
    "person_disabled": N_("This person is disabled."),
    "principal_disabled": N_("This organisation is disabled."),
    "cannot_disable_self": N_("You cannot disable your own account."),
    "not_found": N_("Nothing was found here, or it is not visible to you."),
    "no_content": N_("This record was submitted by its digest only: no file is kept for it."),
    "not_anchored_yet": N_(
        "The certificate is not ready yet: the record is still being sealed, anchored and "
        "witnessed. Wait a few seconds; this page updates by itself."
    ),
    "not_shared": N_("This shared link is not valid."),
    "not_a_share_recipient": N_("Records are shared with notaries and arbitrators only."),
    "limit_exceeded": N_("The input is over a documented limit."),
    "invalid_input": N_("The input breaks a rule; the detail says which."),
    "validation_error": N_("The input breaks a rule; the detail says which."),
    "malformed_document": N_("This file is not a certificate the verifier can read."),
    "unsupported_media_type": N_("This page takes a form."),
    "repeated_parameter": N_("A parameter of the address is given twice."),
    "too_early": N_("That time is not over yet: an answer for it could still change. Ask again."),
    "rate_limited": N_("Too many requests from your address; wait a minute and try again."),
    "chain_unavailable": N_(
        "The blockchain node does not answer at the moment; records are still accepted."
    ),
    "content_store_unavailable": N_("The content store does not answer at the moment."),
    "database_unavailable": N_("The database does not answer at the moment; try again shortly."),
    "key_not_active": N_("This key is already revoked or expired."),
    "no_certificate": N_("Give a certificate: a file, a shared link or a record number."),
    "listing_needed": N_("Give the listing's content or its SHA-256 digest."),
    "pdf_keys_missing": N_("PDF certificates are not set up on this service yet."),
    "tsa_unavailable": N_("No time-stamp authority answers at the moment; try again shortly."),
}

_BY_STATUS = {
    400: N_("The request could not be read."),
    401: N_("Please sign in to see this page."),
    403: N_("You may not do this."),
    404: N_("Nothing was found here, or it is not visible to you."),
    409: N_("This cannot be done in the record's present state."),
    413: N_("The input is over a documented limit."),
    415: N_("This page takes a form."),
    422: N_("The input breaks a rule; the detail says which."),
    425: N_("That time is not over yet: an answer for it could still change. Ask again."),
    429: N_("Too many requests from your address; wait a minute and try again."),
    503: N_("A part of the service does not answer at the moment; try again shortly."),
}


def status_message(status: int) -> str:
    return _BY_STATUS.get(status, N_("Something went wrong on our side; the detail names it."))


def error_message(code: str, status: int = 500) -> str:
    """The message (untranslated: the page translates it) for an error ``code``."""
    return _BY_CODE.get(code) or status_message(status)


ROLE_NAMES = {
    Role.holder.value: N_("Rights holder"),
    Role.notary.value: N_("Notary office"),
    Role.arbitrator.value: N_("Arbitration commission"),
    Role.platform.value: N_("E-commerce platform"),
    Role.credit_authority.value: N_("Credit authority"),
    Role.pledge_registrar.value: N_("Pledge registrar"),
    Role.admin.value: N_("Operator (administrator)"),
}
