"""Staff API: issue and manage invitations (auth level FUNCTION).

The blueprint alone: the feature modules register their functions on it, and the package
(__init__.py) imports them, so no module imports one that imports it back."""

import azure.functions as func

bp = func.Blueprint()
