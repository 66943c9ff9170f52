"""The app's queues, named where both sides meet: the senders (shared/services) and the
queue-triggered functions, whose decorators need the names when the app is indexed (hence
apart from the queue adapter and its SDK)."""

# One queue per kind of work; the Functions host moves a message failing maxDequeueCount times to `{name}-poison`.
COMPANY_CREATE = "company-create"
INVITATION_EVENTS = "invitation-events"
INVITATION_EMAIL = "invitation-email"
INVITATION_BATCH = "invitation-batch"
