"""In-process stand-ins for the external services the function app talks to."""
