"""The outside world behind small interfaces: Table Storage, Storage Queues, B2C (MSAL), e-mail.

Each adapter maps its library's errors to domain errors, so no SDK exception reaches a trigger."""
