"""HTTP glue shared by the blueprints: responses, request parsing, cookies.

It sits beside shared/ because it imports azure.functions, which the domain code must not.
"""
