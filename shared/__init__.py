"""The product without HTTP: domain, services, adapters, presentation, and the composition root.

Nothing here imports azure.functions: that glue lives in web/ and the blueprints.
"""
