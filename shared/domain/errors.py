"""Domain errors. They say what went wrong, not how to answer it: the web room chooses the
HTTP status, a queue function uses `retryable` to decide between a retry and the poison queue."""


class DomainError(Exception):
    retryable = False

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or type(self).__name__


class InvalidInput(DomainError):
    """`pointer`: the JSON Pointer of the offending field, when one field is at fault."""

    def __init__(self, detail: str, *, code: str | None = None, pointer: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.pointer = pointer


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class IllegalTransition(Conflict):
    """A step the invitation's (effective) status does not allow; the code names the status."""

    def __init__(self, action: str, invitation_id: str, status: str) -> None:
        super().__init__(f"Cannot {action.split('-')[0]} invitation {invitation_id}: it is {status}.", code=f"invitation-{status}")


class AlreadyExists(Conflict):
    """An insert met an entity with the same key."""


class ConcurrentUpdate(Conflict):
    """An ETag-guarded write lost against another writer; reading again and retrying may succeed."""

    retryable = True


class DuplicateInvitation(Conflict):
    """The address already has an open invitation (and the request did not say a second is wanted)."""

    def __init__(self, detail: str, existing_id: str) -> None:
        super().__init__(detail, code="duplicate-invitation")
        self.existing_id = existing_id


class Gone(DomainError):
    pass


class IdempotencyMismatch(DomainError):
    pass


class SignInFailed(DomainError):
    """The identity provider or the token exchange said no."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}", code="sign-in-failed")
        self.error, self.description = error, description


class Unavailable(DomainError):
    """A dependency (storage, the identity provider, e-mail) cannot be reached right now."""

    retryable = True
    retry_after_seconds = 30

    def __init__(self, detail: str, *, code: str = "unavailable") -> None:
        super().__init__(detail, code=code)


class TokenRejected(Exception):
    """The bearer token is not acceptable: invalid (401), or valid without the app role (403)."""

    def __init__(self, reason: str, *, missing_role: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.missing_role = reason, missing_role


class CheckFailed(Exception):
    """A health check's failure, in words fit for /api/health (no secret, no SDK message)."""
