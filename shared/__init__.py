"""Domain code shared by the blueprints: models, storage, e-mail, identity, settings.

Nothing here imports azure.functions: the HTTP glue lives in the blueprints and http_common.
"""
