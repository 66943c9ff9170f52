"""Domain errors; the blueprints turn them into problem+json or an HTML page."""


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or type(self).__name__


class InvalidInput(DomainError):
    status = 400
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Gone(DomainError):
    status = 410
    title = "Gone"


class IdempotencyMismatch(DomainError):
    status = 422
    title = "Idempotency-Key reused"
