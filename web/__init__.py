"""All azure.functions glue: problem+json, HTML responses, cookies, routes, the OpenAPI document.

Domain errors become HTTP statuses here and nowhere else; shared/ never imports azure.functions.
"""
